package governor

import (
	"context"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/quota"
)

// gate adapts a quota.Scheduler to the defender.Gate of one call: the
// call's tenant, backend kind and caller identity, the family of each
// request from the client.
type gate struct {
	scheduler quota.Scheduler
	tenant    string
	backend   string
	caller    string
}

func (g *gate) call(f defender.Family) quota.Call {
	return quota.Call{Tenant: g.tenant, Backend: g.backend, Family: f, Caller: g.caller}
}

// Admit asks the scheduler for capacity for one request of family.
func (g *gate) Admit(ctx context.Context, family defender.Family) error {
	return g.scheduler.Admit(ctx, g.call(family))
}

// Throttled reports an upstream 429: tenant-wide ones hold the tenant,
// others the family.
func (g *gate) Throttled(family defender.Family, wait time.Duration, tenantWide bool) {
	scope := quota.HoldFamily
	if tenantWide {
		scope = quota.HoldTenant
	}
	g.scheduler.Throttled(g.call(family), scope, wait)
}
