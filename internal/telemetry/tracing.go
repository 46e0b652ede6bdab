package telemetry

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is the service.name of the gateway's spans unless
// OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) names
// another.
const DefaultServiceName = "defender-gateway"

// TracingEnabled reports whether the environment configures tracing: an
// OTEL_TRACES_EXPORTER other than "none", or an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and
// not OTEL_SDK_DISABLED=true.
func TracingEnabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	if exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp != "" {
		return exp != "none"
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Tracing is the process's tracer provider.
type Tracing struct {
	provider *sdktrace.TracerProvider // nil: tracing is off
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// StartTracing installs the global tracer provider and propagator that
// otelgrpc and otelhttp use. When the environment (getenv, see
// TracingEnabled) configures no tracing, the provider is a no-op and
// nothing is exported. Otherwise the exporter is chosen by
// OTEL_TRACES_EXPORTER (otlp, the default, console or none) with the
// OTEL_EXPORTER_OTLP_* variables (read from the process environment by the
// exporters), spans are batched (OTEL_BSP_*) and sampled
// (OTEL_TRACES_SAMPLER, default parentbased_always_on), and the resource
// takes OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. The propagator is
// W3C trace context and baggage in either case, so that callers' trace
// context reaches the upstream requests. Shutdown flushes.
func StartTracing(ctx context.Context, getenv func(string) string) (*Tracing, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if !TracingEnabled(getenv) {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return &Tracing{}, nil
	}
	exporter, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, errors.New("tracing: " + err.Error())
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil && res == nil {
		_ = exporter.Shutdown(ctx)
		return nil, errors.New("tracing: " + err.Error())
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return &Tracing{provider: tp}, nil
}

// Shutdown flushes the spans not yet exported and stops the exporter
// (within ctx), then puts the no-op provider back. It does nothing when
// tracing is off.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	err := t.provider.Shutdown(ctx)
	otel.SetTracerProvider(noop.NewTracerProvider())
	return err
}

// TraceID is the trace id of ctx's span, "" when it has none (tracing off).
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}
