package service

import (
	"context"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/credentials"
)

// Resolver resolves the {tenant} segment of a resource name to the backend
// that serves it.
type Resolver interface {
	Resolve(ctx context.Context, tenant string) (authctx.Target, error)
}

// ContextLister lists the configured auth contexts with their token status,
// builds partner admin-consent URLs, reports what a call would run as and
// how a served tenant is reached.
type ContextLister interface {
	CheckContexts(ctx context.Context) []authctx.Info
	ConsentURL(ctx context.Context, tenant, state string) (authctx.ConsentLink, error)
	WhoAmI(ctx context.Context, tenant string) (authctx.WhoAmI, error)
	Tenant(ctx context.Context, tenant string) (authctx.TenantConfig, error)
}

// DeviceLogins runs device-code sign-ins.
type DeviceLogins interface {
	Start(ctx context.Context, t credentials.LoginTenant) (credentials.DeviceLogin, error)
	Get(tenant, id string) (credentials.DeviceLogin, error)
}

// resolve resolves tenant and makes sure the target can serve a call.
func resolve(ctx context.Context, r Resolver, tenant string) (authctx.Target, error) {
	if r == nil {
		return authctx.Target{}, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "no resolver is configured")
	}
	t, err := r.Resolve(ctx, tenant)
	if err != nil {
		return authctx.Target{}, err
	}
	if t.Backend == nil || t.Tenant == "" {
		return authctx.Target{}, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "the resolver returned an incomplete target for tenant %q", tenant)
	}
	if req := caller.FromContext(ctx); req != nil {
		req.Trace().SetTarget(t.Context.Name, t.Tenant)
	}
	return t, nil
}
