package defender

import (
	"context"
	"time"
)

// Observer sees the outcome of every upstream request, each attempt on
// its own (telemetry.Metrics is one). tenant is the call's tenant as
// WithTenantLabel put it in the context, "" when none did.
type Observer interface {
	// UpstreamRequest reports one attempt: status is the HTTP status code,
	// 0 when no response came; d runs until the response headers.
	UpstreamRequest(backend, family, tenant string, status int, d time.Duration)
	// UpstreamThrottled reports an attempt the upstream throttled (a 429,
	// or a hunting CPU-quota error).
	UpstreamThrottled(backend, family, tenant string)
}

type tenantLabelKey struct{}

// WithTenantLabel returns ctx naming tenant (the canonical tenant id) as
// the tenant of its upstream requests, for the Observer. The governor sets
// it on every call it serves.
func WithTenantLabel(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantLabelKey{}, tenant)
}

// TenantLabel is ctx's WithTenantLabel, "" when none.
func TenantLabel(ctx context.Context) string {
	t, _ := ctx.Value(tenantLabelKey{}).(string)
	return t
}
