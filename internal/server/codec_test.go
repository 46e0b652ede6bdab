package server_test

import (
	"context"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/audit"
	"github.com/defender-gateway/gateway/internal/server"
)

// rawCodec sends and receives bytes as they are: a client that can put
// anything on the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return proto.Marshal(v.(proto.Message))
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	if m, ok := v.(proto.Message); ok {
		return proto.Unmarshal(data, m)
	}
	return nil
}

func (rawCodec) Name() string { return "proto" }

func TestMalformedProtobufIsInvalidArgument(t *testing.T) {
	var auditBuf syncBuffer
	inc := &fakeIncidents{}
	ts := startServer(t, inc, func(o *server.Options) {
		o.CallerAuth, o.Policy = apiKeyAuth(t), testPolicyStore(t)
		o.Audit = audit.New(slog.New(slog.NewJSONHandler(&auditBuf, nil)), audit.Options{})
	})
	good, _ := proto.Marshal(&defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/1"})
	tests := []struct {
		name   string
		key    string
		body   []byte
		code   codes.Code
		reason string
	}{
		// Field 1 (name) as a length-delimited string whose length runs
		// past the end; then bytes that are no wire format at all; then a
		// string field that is not UTF-8.
		{"truncated", botKey, []byte{0x0a, 0x50, 'a'}, codes.InvalidArgument, server.ReasonMalformedRequest},
		{"garbage", botKey, []byte{0xff, 0xff, 0xff, 0xff, 0xff}, codes.InvalidArgument, server.ReasonMalformedRequest},
		{"invalid UTF-8", botKey, []byte{0x0a, 0x02, 0xc3, 0x28}, codes.InvalidArgument, server.ReasonMalformedRequest},
		{"unauthenticated first", "wrong-key", []byte{0xff, 0xff, 0xff}, codes.Unauthenticated, "API_KEY_INVALID"},
		{"well-formed passes", botKey, good, codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", tt.key)
			out := &defenderv1.Incident{}
			err := ts.conn.Invoke(ctx, defenderv1.IncidentService_GetIncident_FullMethodName, tt.body, out, grpc.ForceCodec(rawCodec{}))
			st := status.Convert(err)
			if st.Code() != tt.code {
				t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), tt.code)
			}
			if tt.code == codes.OK {
				return
			}
			if got := errorInfo(st); got.GetReason() != tt.reason || got.GetDomain() != "defender.gateway" {
				t.Errorf("ErrorInfo = %v, want reason %s", got, tt.reason)
			}
			if tt.code == codes.InvalidArgument && st.Message() != "the request message is not valid protobuf for this method" {
				t.Errorf("message = %q", st.Message())
			}
		})
	}
	if n := inc.calls.Load(); n != 1 {
		t.Errorf("%d calls reached the handler, want only the well-formed one", n)
	}
	recs := logRecords(t, auditBuf.String())
	if len(recs) != len(tests) {
		t.Fatalf("%d audit records, want %d:\n%s", len(recs), len(tests), auditBuf.String())
	}
	if recs[0]["reason"] != server.ReasonMalformedRequest || recs[0]["caller"] != "api-key:soc-bot" {
		t.Errorf("audit record of a malformed request = %v", recs[0])
	}
}
