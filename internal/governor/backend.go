package governor

import (
	"context"
	"strings"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// backend is a target's Backend as the governor serves it.
type backend struct {
	g      *Governor
	inner  defender.Backend
	tenant string
	kind   defender.BackendKind
	// prefix starts the keys of this target's reads; "" shares nothing.
	prefix string
}

func (b *backend) Kind() defender.BackendKind { return b.kind }

func (b *backend) ListIncidents(ctx context.Context, q defender.ListQuery) (*defender.IncidentPage, error) {
	return read(ctx, b, defender.FamilyIncidentRead, b.key(func() string { return listKey(b.prefix, q) }),
		func(ctx context.Context) (*defender.IncidentPage, error) { return b.inner.ListIncidents(ctx, q) }, copyPage)
}

func (b *backend) GetIncident(ctx context.Context, id string, withAlerts bool) (*defender.Incident, error) {
	return read(ctx, b, defender.FamilyIncidentGet, b.key(func() string { return getKey(b.prefix, id, withAlerts) }),
		func(ctx context.Context) (*defender.Incident, error) { return b.inner.GetIncident(ctx, id, withAlerts) }, copyIncident)
}

func (b *backend) RunHuntingQuery(ctx context.Context, q defender.HuntingQuery) (*defender.HuntingResult, error) {
	return read(ctx, b, defender.FamilyHunting, b.key(func() string { return huntingKey(b.prefix, q) }),
		func(ctx context.Context) (*defender.HuntingResult, error) { return b.inner.RunHuntingQuery(ctx, q) }, copyHunting)
}

// StreamHuntingQuery is never shared or cached: each stream is its
// caller's, read at its pace. It takes quota as RunHuntingQuery does.
func (b *backend) StreamHuntingQuery(ctx context.Context, q defender.HuntingQuery, sink defender.HuntingSink) error {
	return b.inner.StreamHuntingQuery(b.gated(ctx), q, sink)
}

// UpdateIncident is never shared. Whatever its outcome (a failed update may
// have applied part of its changes), it then drops the tenant's cached
// listings and the incident's cached gets, and makes the tenant's next reads
// start new upstream calls rather than join ones begun before it.
func (b *backend) UpdateIncident(ctx context.Context, id string, u defender.IncidentUpdate) (*defender.Incident, error) {
	inc, err := b.inner.UpdateIncident(b.gated(ctx), id, u)
	if b.g.cache != nil {
		b.g.cache.invalidate(b.tenant, id)
	}
	b.g.flights.forget(tenantPrefix(b.tenant))
	return inc, err
}

// key is the read's key, "" when this target shares nothing.
func (b *backend) key(k func() string) string {
	if b.prefix == "" {
		return ""
	}
	return k()
}

// gated names the call's tenant for the upstream metrics and puts the
// call's gate in ctx, when there is a scheduler.
func (b *backend) gated(ctx context.Context) context.Context {
	ctx = defender.WithTenantLabel(ctx, strings.ToLower(b.tenant))
	if b.g.scheduler == nil {
		return ctx
	}
	name := ""
	if req := caller.FromContext(ctx); req != nil {
		name = req.Identity.Name
	}
	return b.g.withGate(ctx, &gate{scheduler: b.g.scheduler, tenant: strings.ToLower(b.tenant), backend: string(b.kind), caller: name})
}

// read serves one read: from the cache, else through a shared flight (when
// coalescing), else directly. Every caller gets its own copy.
func read[T any](ctx context.Context, b *backend, family defender.Family, key string,
	call func(context.Context) (*T, error), clone func(*T) *T) (*T, error) {
	ctx = b.gated(ctx)
	if key == "" || defender.FreshRead(ctx) {
		return call(ctx)
	}
	c, ttl := b.g.cache, b.g.cacheOpts.ttl(family)
	cached := c != nil && ttl > 0
	var gen uint64
	if cached {
		if v, ok := c.get(key); ok {
			b.g.metrics.CacheLookup(string(family), true)
			b.g.logger.DebugContext(ctx, "read cache hit", "family", string(family), "tenant", b.tenant)
			return clone(v.(*T)), nil
		}
		b.g.metrics.CacheLookup(string(family), false)
		gen = c.generation(b.tenant)
	}
	fetch := func(ctx context.Context) (*T, error) {
		v, err := call(ctx)
		if err == nil && v != nil && cached {
			c.put(key, b.tenant, gen, clone(v), ttl)
		}
		return v, err
	}
	if !b.g.coalesce {
		return fetch(ctx)
	}
	v, exclusive, err := b.g.flights.do(ctx, key, func(ctx context.Context) (any, error) { return fetch(ctx) },
		func() { b.g.metrics.ReadCoalesced(string(family)) })
	if err != nil {
		return nil, err
	}
	if exclusive { // no other caller joined: nobody else holds it
		return v.(*T), nil
	}
	return clone(v.(*T)), nil
}
