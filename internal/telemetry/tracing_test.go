package telemetry

import (
	"context"
	"testing"
)

func TestTracingEnabled(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"OTEL_SERVICE_NAME": "x"}, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "console"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, false},
	}
	for _, tt := range tests {
		if got := TracingEnabled(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("TracingEnabled(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

// TestTracingOff: without configuration the provider is a no-op: no trace
// ids, and Shutdown does nothing.
func TestTracingOff(t *testing.T) {
	tr, err := StartTracing(context.Background(), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() {
		t.Error("tracing enabled without configuration")
	}
	if id := TraceID(context.Background()); id != "" {
		t.Errorf("TraceID = %q without a span", id)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}
