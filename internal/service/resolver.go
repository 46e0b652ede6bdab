package service

import (
	"context"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
)

// Resolver resolves the {tenant} segment of a resource name to the backend
// that serves it.
type Resolver interface {
	Resolve(ctx context.Context, tenant string) (authctx.Target, error)
}

// ContextLister lists the configured auth contexts with their token status
// and builds partner admin-consent URLs.
type ContextLister interface {
	CheckContexts(ctx context.Context) []authctx.Info
	ConsentURL(tenant, state string) (authctx.ConsentLink, error)
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
	return t, nil
}
