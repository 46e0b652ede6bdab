package governor

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/defender-gateway/gateway/internal/defender"
)

// The alert reads take quota of the alert families and coalesce like the
// incident reads; they are never cached (no alert TTL setting), so an
// alert read is always as fresh as the upstream's.

func (b *backend) ListAlerts(ctx context.Context, q defender.AlertListQuery) (*defender.AlertPage, error) {
	return read(ctx, b, defender.FamilyAlertRead, b.key(func() string { return alertListKey(b.prefix, q) }),
		func(ctx context.Context) (*defender.AlertPage, error) { return b.inner.ListAlerts(ctx, q) }, copyAlertPage)
}

func (b *backend) GetAlert(ctx context.Context, id string) (*defender.Alert, error) {
	return read(ctx, b, defender.FamilyAlertGet, b.key(func() string { return alertGetKey(b.prefix, id) }),
		func(ctx context.Context) (*defender.Alert, error) { return b.inner.GetAlert(ctx, id) }, copyAlertPtr)
}

// UpdateAlert is never shared. An alert update also changes its incident
// (its last-update time), so, whatever the outcome, it drops the tenant's
// cached incident reads and makes the tenant's next reads start new
// upstream calls.
func (b *backend) UpdateAlert(ctx context.Context, id string, u defender.AlertUpdate) (*defender.Alert, error) {
	a, err := b.inner.UpdateAlert(b.gated(ctx), id, u)
	if b.g.cache != nil {
		b.g.cache.invalidateTenant(b.tenant)
	}
	b.g.flights.forget(tenantPrefix(b.tenant))
	return a, err
}

func alertListKey(prefix string, q defender.AlertListQuery) string {
	bs, err := json.Marshal(q)
	if err != nil { // cannot happen for these field types; do not share
		return ""
	}
	return prefix + "alerts" + sep + string(bs)
}

func alertGetKey(prefix, id string) string { return prefix + "alert" + sep + strconv.Quote(id) }

func copyAlertPage(p *defender.AlertPage) *defender.AlertPage {
	if p == nil {
		return nil
	}
	out := &defender.AlertPage{NextCursor: p.NextCursor}
	if p.Alerts != nil {
		out.Alerts = make([]defender.Alert, len(p.Alerts))
		for i := range p.Alerts {
			out.Alerts[i] = copyAlert(p.Alerts[i])
		}
	}
	return out
}

func copyAlertPtr(a *defender.Alert) *defender.Alert {
	if a == nil {
		return nil
	}
	c := copyAlert(*a)
	return &c
}

// invalidateTenant drops every cached read of tenant but its hunting
// results.
func (c *cache) invalidateTenant(tenant string) {
	tp := tenantPrefix(tenant)
	hunting := sep + "hunting" + sep
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[tp]++
	for _, k := range slices.Clone(c.lru.Keys()) {
		if strings.HasPrefix(k, tp) && !strings.Contains(k, hunting) {
			c.lru.Remove(k)
		}
	}
}
