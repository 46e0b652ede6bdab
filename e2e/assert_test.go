package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// wantStatus fails t unless err is a status with code, an ErrorInfo with
// reason (when reason is not ""), and a message containing every fragment.
func wantStatus(t *testing.T, err error, code codes.Code, reason string, fragments ...string) *status.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %v", code)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("got non-status error %v, want %v", err, code)
	}
	if st.Code() != code {
		t.Fatalf("got %v %q, want %v", st.Code(), st.Message(), code)
	}
	if reason != "" {
		info := errorInfo(st)
		if info == nil {
			t.Fatalf("status %v %q has no ErrorInfo, want reason %s", st.Code(), st.Message(), reason)
		}
		if info.GetReason() != reason {
			t.Errorf("ErrorInfo reason = %s, want %s", info.GetReason(), reason)
		}
		if info.GetDomain() != "defender.gateway" {
			t.Errorf("ErrorInfo domain = %q, want defender.gateway", info.GetDomain())
		}
	}
	for _, f := range fragments {
		if !strings.Contains(st.Message(), f) {
			t.Errorf("message %q does not contain %q", st.Message(), f)
		}
	}
	return st
}

func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

func retryDelay(st *status.Status) (time.Duration, bool) {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

func fieldViolations(st *status.Status) []string {
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// mustOK fails t when err is not nil.
func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		var st interface{ GRPCStatus() *status.Status }
		if errors.As(err, &st) {
			t.Fatalf("unexpected error: %v %q %v", st.GRPCStatus().Code(), st.GRPCStatus().Message(), st.GRPCStatus().Details())
		}
		t.Fatalf("unexpected error: %v", err)
	}
}
