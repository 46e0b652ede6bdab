package app_test

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it keeps every span it is
// sent.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	req := &coltracepb.ExportTraceServiceRequest{}
	if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			o.spans = append(o.spans, ss.GetSpans()...)
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

func (o *otlpReceiver) all() []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*tracepb.Span(nil), o.spans...)
}

func attr(s *tracepb.Span, key string) string {
	for _, a := range s.GetAttributes() {
		if a.GetKey() == key {
			return a.GetValue().GetStringValue()
		}
	}
	return ""
}

// TestTracingChainsRESTToUpstream: with OTLP configured by the standard
// variables, a REST call's spans reach the collector when the process
// exits (shutdown flushes), and the REST server span, the gRPC server span
// and the upstream client span of the call share one trace id, which the
// call's log line names.
func TestTracingChainsRESTToUpstream(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	env := map[string]string{
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL,
		"OTEL_SERVICE_NAME":           "gateway-under-test",
	}
	// The exporters read the process environment themselves.
	for k, v := range env {
		t.Setenv(k, v)
	}
	_, rest, logs, stop := startSandboxEnv(t, os.Getenv)

	req, _ := http.NewRequest(http.MethodGet, rest+"/v1/tenants/default/incidents?pageSize=1", nil)
	req.Header.Set("X-Request-Id", "traced-rest-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	stop() // flushes the spans

	var traceID string
	for _, rec := range logRecords(t, logs.String()) {
		if rec["request_id"] == "traced-rest-1" && rec["msg"] == "finished call" {
			traceID, _ = rec["trace_id"].(string)
		}
	}
	if len(traceID) != 32 {
		t.Fatalf("the call's log line has trace_id %q:\n%s", traceID, logs.String())
	}
	var restServer, grpcServer, upstreamClient int
	for _, s := range recv.all() {
		if hex.EncodeToString(s.GetTraceId()) != traceID {
			continue
		}
		switch {
		case s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && s.GetName() == "defender.v1.IncidentService/ListIncidents":
			grpcServer++
		case s.GetKind() == tracepb.Span_SPAN_KIND_SERVER:
			restServer++
		case s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && strings.Contains(attr(s, "url.full"), "/security/incidents"):
			upstreamClient++
		}
	}
	if restServer != 1 || grpcServer != 1 || upstreamClient < 1 {
		names := []string{}
		for _, s := range recv.all() {
			names = append(names, s.GetKind().String()+" "+s.GetName()+" "+hex.EncodeToString(s.GetTraceId())+" "+attr(s, "url.full"))
		}
		t.Errorf("trace %s: %d REST server, %d gRPC server, %d upstream client spans; want 1, 1, >=1; spans:\n%s",
			traceID, restServer, grpcServer, upstreamClient, strings.Join(names, "\n"))
	}
}
