package server_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// TestCallLogLine: every call, gRPC or REST through the gateway, is logged
// as exactly one JSON line with its request id, trace id, caller, tenant,
// method, code and latency; the trace id is the one of the call's server
// spans, and a REST call's HTTP and gRPC server spans share it.
func TestCallLogLine(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{}) // as telemetry.StartTracing does
	t.Cleanup(func() {
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
		otel.SetTracerProvider(noop.NewTracerProvider())
		_ = tp.Shutdown(context.Background())
	})

	inc := &fakeIncidents{get: func(_ context.Context, r *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
		if r.GetName() == "tenants/t2/incidents/404" {
			return nil, status.Error(codes.NotFound, "no such incident")
		}
		return &defenderv1.Incident{Name: r.GetName()}, nil
	}}
	ts := startServer(t, inc, nil)

	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "log-grpc-ok")
	if _, err := ts.incidents().GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/7"}); err != nil {
		t.Fatal(err)
	}
	ctx = metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "log-grpc-404")
	if _, err := ts.incidents().GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/t2/incidents/404"}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetIncident = %v, want NotFound", err)
	}
	if resp, body := ts.get(t, "/v1/tenants/default/incidents/8", map[string]string{"X-Request-Id": "log-rest-ok"}); resp.StatusCode != 200 {
		t.Fatalf("REST: %d %s", resp.StatusCode, body)
	}

	tests := []struct {
		requestID, tenant, code string
		rest                    bool
	}{
		{"log-grpc-ok", "default", "OK", false},
		{"log-grpc-404", "t2", "NotFound", false},
		{"log-rest-ok", "default", "OK", true},
	}
	for _, tt := range tests {
		var lines []map[string]any
		for _, rec := range logRecords(t, ts.logs.String()) {
			if rec["request_id"] == tt.requestID && rec["msg"] == "finished call" {
				lines = append(lines, rec)
			}
		}
		if len(lines) != 1 {
			t.Errorf("%s: %d call lines, want exactly 1:\n%v", tt.requestID, len(lines), lines)
			continue
		}
		rec := lines[0]
		want := map[string]any{"caller": "anonymous", "tenant": tt.tenant, "grpc.service": "defender.v1.IncidentService",
			"grpc.method": "GetIncident", "grpc.code": tt.code}
		for k, v := range want {
			if rec[k] != v {
				t.Errorf("%s: %s = %v, want %v (%v)", tt.requestID, k, rec[k], v, rec)
			}
		}
		if _, ok := rec["grpc.time_ms"].(string); !ok {
			t.Errorf("%s: no latency grpc.time_ms in %v", tt.requestID, rec)
		}
		traceID, _ := rec["trace_id"].(string)
		if len(traceID) != 32 {
			t.Errorf("%s: trace_id %q", tt.requestID, traceID)
			continue
		}
		wantServer := 1
		if tt.rest {
			wantServer = 2 // the REST (otelhttp) and the gRPC (otelgrpc) server spans
		}
		kinds := map[trace.SpanKind]int{}
		// The HTTP server span ends just after the response is sent.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			kinds = map[trace.SpanKind]int{}
			for _, s := range spans.Ended() {
				if s.SpanContext().TraceID().String() == traceID {
					kinds[s.SpanKind()]++
				}
			}
			if kinds[trace.SpanKindServer] >= wantServer {
				break
			}
		}
		if kinds[trace.SpanKindServer] != wantServer {
			t.Errorf("%s: %d server spans in trace %s, want %d (%v)", tt.requestID, kinds[trace.SpanKindServer], traceID, wantServer, kinds)
		}
	}
}
