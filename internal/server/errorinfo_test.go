package server_test

import (
	"context"
	"net/http"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/server"
)

// stampedStatus is err's status with id added to its ErrorInfo under
// "request_id", as the server returns it.
func stampedStatus(t *testing.T, err error, id string) *status.Status {
	t.Helper()
	p := status.Convert(err).Proto()
	for i, d := range p.GetDetails() {
		info := &errdetails.ErrorInfo{}
		if d.MessageIs(info) {
			if err := d.UnmarshalTo(info); err != nil {
				t.Fatal(err)
			}
			if info.Metadata == nil {
				info.Metadata = map[string]string{}
			}
			info.Metadata["request_id"] = id
			if err := p.Details[i].MarshalFrom(info); err != nil {
				t.Fatal(err)
			}
		}
	}
	return status.FromProto(p)
}

// TestErrorInfoCarriesTheGatewayRequestID: every error status, whoever made
// it (a handler, with or without an ErrorInfo, or the validation
// interceptor), carries the gateway's own request id in its ErrorInfo, the
// same id as the x-request-id response header, over gRPC and REST; an
// upstream's ids keep their own keys.
func TestErrorInfoCarriesTheGatewayRequestID(t *testing.T) {
	upstream := func() error {
		st, err := status.New(codes.Unavailable, "upstream down").WithDetails(&errdetails.ErrorInfo{
			Reason: "UPSTREAM_UNAVAILABLE", Domain: "defender.gateway",
			Metadata: map[string]string{"upstream_request_id": "graph-req-1", "upstream_client_request_id": "client-req-1"},
		})
		if err != nil {
			panic(err)
		}
		return st.Err()
	}
	inc := &fakeIncidents{
		list: func(context.Context, *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
			return nil, upstream()
		},
		get: func(context.Context, *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
			return nil, status.Error(codes.NotFound, "no ErrorInfo") // as a library might
		},
	}
	ts := startServer(t, inc, nil)
	tests := []struct {
		name       string
		sentID     string // "" lets the gateway make one up
		grpcCall   func(ctx context.Context, opts ...grpc.CallOption) error
		restPath   string
		code       codes.Code
		reason     string
		upstreamID string
	}{
		{"handler error with upstream ids", "caller-chosen-1", func(ctx context.Context, opts ...grpc.CallOption) error {
			_, err := ts.incidents().ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default"}, opts...)
			return err
		}, "/v1/tenants/default/incidents", codes.Unavailable, "UPSTREAM_UNAVAILABLE", "graph-req-1"},
		{"generated id", "", func(ctx context.Context, opts ...grpc.CallOption) error {
			_, err := ts.incidents().ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default"}, opts...)
			return err
		}, "/v1/tenants/default/incidents", codes.Unavailable, "UPSTREAM_UNAVAILABLE", "graph-req-1"},
		{"status without ErrorInfo", "caller-chosen-2", func(ctx context.Context, opts ...grpc.CallOption) error {
			_, err := ts.incidents().GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/5"}, opts...)
			return err
		}, "/v1/tenants/default/incidents/5", codes.NotFound, "NOT_FOUND", ""},
		{"validation interceptor", "caller-chosen-3", func(ctx context.Context, opts ...grpc.CallOption) error {
			_, err := ts.incidents().ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/b_d"}, opts...)
			return err
		}, "/v1/tenants/b_d/incidents", codes.InvalidArgument, "INVALID_ARGUMENT", ""},
	}
	check := func(t *testing.T, st *status.Status, headerID, sentID string, code codes.Code, reason, upstreamID string) {
		t.Helper()
		if st.Code() != code {
			t.Fatalf("status %v %q, want %v", st.Code(), st.Message(), code)
		}
		if headerID == "" || (sentID != "" && headerID != sentID) {
			t.Fatalf("x-request-id = %q, want %q (or a generated one)", headerID, sentID)
		}
		info := errorInfo(st)
		if info == nil {
			t.Fatalf("status %v has no ErrorInfo", st.Proto())
		}
		if info.GetReason() != reason || info.GetDomain() != "defender.gateway" {
			t.Errorf("ErrorInfo reason/domain = %s/%s, want %s/defender.gateway", info.GetReason(), info.GetDomain(), reason)
		}
		if got := info.GetMetadata()["request_id"]; got != headerID {
			t.Errorf("ErrorInfo request_id = %q, want the x-request-id %q", got, headerID)
		}
		if got := info.GetMetadata()["upstream_request_id"]; got != upstreamID {
			t.Errorf("ErrorInfo upstream_request_id = %q, want %q", got, upstreamID)
		}
		if upstreamID != "" && info.GetMetadata()["upstream_client_request_id"] != "client-req-1" {
			t.Errorf("ErrorInfo upstream_client_request_id = %q, want client-req-1", info.GetMetadata()["upstream_client_request_id"])
		}
	}
	for _, tt := range tests {
		t.Run(tt.name+"/grpc", func(t *testing.T) {
			ctx := context.Background()
			if tt.sentID != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, server.RequestIDHeader, tt.sentID)
			}
			var hdr, trl metadata.MD
			err := tt.grpcCall(ctx, grpc.Header(&hdr), grpc.Trailer(&trl))
			ids := append(hdr.Get(server.RequestIDHeader), trl.Get(server.RequestIDHeader)...)
			if len(ids) == 0 {
				t.Fatal("no x-request-id in the response")
			}
			check(t, status.Convert(err), ids[0], tt.sentID, tt.code, tt.reason, tt.upstreamID)
		})
		t.Run(tt.name+"/rest", func(t *testing.T) {
			header := map[string]string{}
			if tt.sentID != "" {
				header["X-Request-Id"] = tt.sentID
			}
			resp, body := ts.get(t, tt.restPath, header)
			if resp.StatusCode == http.StatusOK {
				t.Fatal("HTTP 200, want an error")
			}
			check(t, restStatus(t, resp, body), resp.Header.Get("X-Request-Id"), tt.sentID, tt.code, tt.reason, tt.upstreamID)
		})
	}
}
