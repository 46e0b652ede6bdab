package audit_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/audit"
	"github.com/defender-gateway/gateway/internal/caller"
)

func TestRefusalRecords(t *testing.T) {
	bot := &caller.Request{Identity: caller.Identity{Kind: caller.KindAPIKey, Name: "api-key:soc-bot"}}
	tests := []struct {
		name string
		r    audit.Refusal
		want map[string]any
	}{
		{"unauthenticated on a known route", audit.Refusal{
			Method: defenderv1.IncidentService_GetIncident_FullMethodName, Request: &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/7"},
			HTTPMethod: "GET", HTTPPath: "/v1/tenants/default/incidents/7", HTTPStatus: 401, Err: status.Error(codes.Unauthenticated, "no"),
		}, map[string]any{"caller": "", "operation": "incidents.read", "resource": "tenants/default/incidents/7", "tenant": "default",
			"http_method": "GET", "http_path": "/v1/tenants/default/incidents/7", "http_status": float64(401), "code": "Unauthenticated", "request_id": "req-1"}},
		{"authenticated, body too large", audit.Refusal{
			Method: defenderv1.HuntingService_RunQuery_FullMethodName, Request: &defenderv1.RunQueryRequest{Tenant: "tenants/default"}, Caller: bot,
			HTTPMethod: "POST", HTTPPath: "/v1/tenants/default:runHuntingQuery", HTTPStatus: 413, Err: status.Error(codes.InvalidArgument, "big"),
		}, map[string]any{"caller": "api-key:soc-bot", "operation": "hunting.run", "http_status": float64(413), "code": "InvalidArgument"}},
		{"no route, long path", audit.Refusal{
			HTTPMethod: "GET", HTTPPath: "/v1/" + strings.Repeat("a", 1000), HTTPStatus: 404, Err: status.Error(codes.NotFound, "none"),
		}, map[string]any{"method": "", "operation": "", "http_path": "/v1/" + strings.Repeat("a", 252) + "…", "code": "NotFound"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := audit.New(slog.New(slog.NewJSONHandler(&buf, nil)), audit.Options{RequestID: requestID})
			l.RecordRefusal(context.Background(), tt.r)
			recs := records(t, &buf)
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			for k, v := range tt.want {
				if recs[0][k] != v {
					t.Errorf("%s = %v, want %v", k, recs[0][k], v)
				}
			}
		})
	}
}
