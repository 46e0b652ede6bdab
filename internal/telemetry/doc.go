// Package telemetry is the gateway's observability: the Prometheus metrics
// of its own components (metrics.go: upstream requests, throttling, the
// quota scheduler, tokens, the read cache and coalescing, streams and
// watches), a quota.Scheduler decorator that measures admission and a
// collector that reads the scheduler's budgets at scrape time (quota.go),
// and OpenTelemetry tracing configured by the standard OTEL_* environment
// variables (tracing.go).
//
// A *Metrics is built once (New) on the registry that /metrics serves and
// handed to the components through their options. Every method is safe on
// a nil *Metrics, which records nothing, so that components and tests may
// run without metrics. Label values are bounded: tenants are the canonical
// tenant ids of the configuration, families the quota families, methods
// the gRPC full method names.
package telemetry
