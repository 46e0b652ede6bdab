package governor

import (
	"context"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// alertReadCases are coalesced like readCases but never cached.
var alertReadCases = []readCase{
	{
		name: "ListAlerts",
		do: func(ctx context.Context, b defender.Backend) (any, error) {
			return b.ListAlerts(ctx, defender.AlertListQuery{PageSize: 10, Cursor: "c"})
		},
		mutate: func(v any) {
			p := v.(*defender.AlertPage)
			p.Alerts[0].MitreTechniques[0] = "changed"
			p.Alerts[0].Comments[0].Text = "changed"
		},
	},
	{
		name: "GetAlert",
		do: func(ctx context.Context, b defender.Backend) (any, error) {
			return b.GetAlert(ctx, "da1")
		},
		mutate: func(v any) {
			v.(*defender.Alert).Comments[0].Text = "changed"
		},
	},
}

func alertGetStep(id string, upstream bool) step {
	return step{name: "get alert " + id, upstream: upstream, do: func(ctx context.Context, b defender.Backend) error {
		_, err := b.GetAlert(ctx, id)
		return err
	}}
}

func alertUpdateStep(id string) step {
	return step{name: "update alert " + id, upstream: true, do: func(ctx context.Context, b defender.Backend) error {
		_, err := b.UpdateAlert(ctx, id, defender.AlertUpdate{Comment: "x"})
		return err
	}}
}

// TestAlertReadsAreNotCachedAndAlertWritesInvalidate: alert reads always
// go upstream (no alert TTL); an alert update drops the tenant's cached
// incident reads (it changes the alert's incident), not the hunting ones
// nor another tenant's.
func TestAlertReadsAreNotCachedAndAlertWritesInvalidate(t *testing.T) {
	all := CacheOptions{TTLIncidentRead: ttl, TTLIncidentGet: ttl, TTLHunting: ttl}
	steps := []step{
		alertGetStep("da1", true), alertGetStep("da1", true),
		getStep("1", true), getStep("9", true), listStep(true), huntStep(true), listStep(true).in(tenantB),
		alertUpdateStep("da1"),
		getStep("1", true), getStep("9", true), listStep(true), huntStep(false), listStep(false).in(tenantB),
	}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	fb := &fakeBackend{}
	g := newTest(t, Options{Coalesce: true, Cache: all, Clock: clock.Now}, fb)
	for i, s := range steps {
		ctx := as(t.Context(), "api-key:a", nil, "")
		tenant := tenantA
		if s.tenant != "" {
			tenant = s.tenant
		}
		target, err := g.Resolve(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		before := fb.count()
		if err := s.do(ctx, target.Backend); err != nil {
			t.Fatalf("step %d (%s): %v", i, s.name, err)
		}
		if went := fb.count() > before; went != s.upstream {
			t.Errorf("step %d (%s): went upstream = %v, want %v", i, s.name, went, s.upstream)
		}
	}
}
