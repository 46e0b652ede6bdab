package service

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/defender-gateway/gateway/internal/pagetoken"
)

func testCodec(t *testing.T, keyByte byte) *pagetoken.Codec {
	t.Helper()
	c, err := pagetoken.New(bytes.Repeat([]byte{keyByte}, pagetoken.MinKeyLen))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantFieldError fails t unless err is INVALID_ARGUMENT whose message starts
// with field, with a BadRequest violation of exactly that field and an
// ErrorInfo of reason INVALID_ARGUMENT. It returns the status.
func wantFieldError(t *testing.T, err error, field string) *status.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want INVALID_ARGUMENT on %s", field)
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("got %v, want INVALID_ARGUMENT on %s", err, field)
	}
	if !strings.HasPrefix(st.Message(), field+": ") {
		t.Errorf("message %q does not start with %q", st.Message(), field+": ")
	}
	var fields []string
	var reason string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		}
	}
	if len(fields) != 1 || fields[0] != field {
		t.Errorf("field violations = %v, want [%s]", fields, field)
	}
	if reason != "INVALID_ARGUMENT" {
		t.Errorf("ErrorInfo reason = %q, want INVALID_ARGUMENT", reason)
	}
	return st
}

// wantCode fails t unless err has code and, when reason is not "", an
// ErrorInfo with that reason.
func wantCode(t *testing.T, err error, code codes.Code, reason string) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("got %v, want %v", err, code)
	}
	if reason == "" {
		return st
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if info.GetReason() != reason {
				t.Errorf("ErrorInfo reason = %q, want %q", info.GetReason(), reason)
			}
			return st
		}
	}
	t.Errorf("status %v has no ErrorInfo, want reason %s", st, reason)
	return st
}

func protoClone[M proto.Message](m M) M { return proto.Clone(m).(M) }
