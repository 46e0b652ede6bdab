package governor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

const ttl = time.Minute

// step is one call of a cache scenario and whether it must reach the
// backend.
type step struct {
	name     string
	do       func(ctx context.Context, b defender.Backend) error
	upstream bool
	advance  time.Duration // before the call
	ctx      func(context.Context) context.Context
	tenant   string
}

func getStep(id string, upstream bool) step {
	return step{name: "get " + id, upstream: upstream, do: func(ctx context.Context, b defender.Backend) error {
		_, err := b.GetIncident(ctx, id, true)
		return err
	}}
}

func listStep(upstream bool) step {
	return step{name: "list", upstream: upstream, do: func(ctx context.Context, b defender.Backend) error {
		_, err := b.ListIncidents(ctx, defender.ListQuery{PageSize: 5})
		return err
	}}
}

func huntStep(upstream bool) step {
	return step{name: "hunt", upstream: upstream, do: func(ctx context.Context, b defender.Backend) error {
		_, err := b.RunHuntingQuery(ctx, defender.HuntingQuery{Query: "T"})
		return err
	}}
}

func updateStep(id string) step {
	return step{name: "update " + id, upstream: true, do: func(ctx context.Context, b defender.Backend) error {
		_, err := b.UpdateIncident(ctx, id, defender.IncidentUpdate{Comment: "x"})
		return err
	}}
}

func (s step) after(d time.Duration) step { s.advance = d; return s }
func (s step) in(tenant string) step      { s.tenant = tenant; return s }
func (s step) by(f func(context.Context) context.Context) step {
	s.ctx = f
	return s
}

func asUser(oid string) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context {
		return as(ctx, "api-key:a", &caller.UserToken{Tenant: tenantA, ObjectID: oid, UPN: oid + "@x"}, "")
	}
}

func TestCache(t *testing.T) {
	all := CacheOptions{TTLIncidentRead: ttl, TTLIncidentGet: ttl, TTLHunting: ttl}
	tests := []struct {
		name  string
		cache CacheOptions
		steps []step
	}{
		{"hit", all, []step{getStep("1", true), getStep("1", false), listStep(true), listStep(false), huntStep(true), huntStep(false)}},
		{"TTL expiry", all, []step{getStep("1", true), getStep("1", false).after(ttl - time.Nanosecond), getStep("1", true).after(time.Nanosecond)}},
		{"family without TTL", CacheOptions{TTLIncidentGet: ttl}, []step{listStep(true), listStep(true), huntStep(true), huntStep(true), getStep("1", true), getStep("1", false)}},
		{"off", CacheOptions{}, []step{getStep("1", true), getStep("1", true)}},
		{"invalidation by a write", all, []step{
			getStep("1", true), getStep("2", true), listStep(true), huntStep(true), listStep(true).in(tenantB),
			updateStep("1"),
			getStep("1", true), getStep("2", false), listStep(true), huntStep(false), listStep(false).in(tenantB),
		}},
		{"a write in the user context invalidates every context", all, []step{
			getStep("1", true), listStep(true), getStep("1", true).by(asUser("o2")),
			updateStep("1").by(asUser("o1")),
			getStep("1", true), listStep(true), getStep("1", true).by(asUser("o2")),
		}},
		{"max entries", CacheOptions{TTLIncidentGet: ttl, MaxEntries: 2}, []step{
			getStep("1", true), getStep("2", true), getStep("3", true),
			getStep("3", false), getStep("2", false), getStep("1", true), getStep("3", true),
		}},
		{"identities", all, []step{
			getStep("1", true).by(asUser("o1")), getStep("1", false).by(asUser("o1")), getStep("1", true).by(asUser("o2")), getStep("1", true),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1000, 0)}
			fb := &fakeBackend{}
			g := newTest(t, Options{Coalesce: true, Cache: tt.cache, Clock: clock.Now}, fb)
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				ctx := as(t.Context(), "api-key:a", nil, "")
				if s.ctx != nil {
					ctx = s.ctx(t.Context())
				}
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
		})
	}
}

func TestCacheHitsAreCopies(t *testing.T) {
	for _, rc := range readCases {
		t.Run(rc.name, func(t *testing.T) {
			fb := &fakeBackend{}
			g := newTest(t, Options{Cache: CacheOptions{TTLIncidentRead: ttl, TTLIncidentGet: ttl, TTLHunting: ttl}}, fb)
			ctx := as(t.Context(), "api-key:a", nil, "")
			target, _ := g.Resolve(ctx, tenantA)
			first, err := rc.do(ctx, target.Backend)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := rc.do(ctx, &fakeBackend{})
			rc.mutate(first)
			second, err := rc.do(ctx, target.Backend)
			if err != nil {
				t.Fatal(err)
			}
			if fb.count() != 1 {
				t.Fatalf("backend calls = %d, want 1", fb.count())
			}
			if diff := cmp.Diff(want, second); diff != "" {
				t.Errorf("cached result changed by the first caller (-want +got):\n%s", diff)
			}
			rc.mutate(second)
			third, _ := rc.do(ctx, target.Backend)
			if diff := cmp.Diff(want, third); diff != "" {
				t.Errorf("cached result changed by a hit's caller (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	fail := defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable, "down")
	fb := &fakeBackend{fail: fail}
	g := newTest(t, Options{Coalesce: true, Cache: CacheOptions{TTLIncidentGet: ttl}}, fb)
	ctx := as(t.Context(), "api-key:a", nil, "")
	for range 2 {
		if _, err := get(ctx, t, g); !errors.Is(err, fail) {
			t.Fatalf("error = %v, want %v", err, fail)
		}
	}
	if fb.count() != 2 || g.cache.len() != 0 {
		t.Errorf("backend calls = %d, cache entries = %d; want 2 and 0", fb.count(), g.cache.len())
	}
}

// A read in flight while the incident is updated does not store its
// (possibly stale) result.
func TestReadRacingAWriteIsNotStored(t *testing.T) {
	fb := &fakeBackend{block: make(chan struct{})}
	g := newTest(t, Options{Coalesce: true, Cache: CacheOptions{TTLIncidentGet: ttl}}, fb)
	ctx := as(t.Context(), "api-key:a", nil, "")
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := get(ctx, t, g); err != nil {
			t.Error(err)
		}
	})
	waitFor(t, "the read to go upstream", func() bool { return fb.count() == 1 })
	target, _ := g.Resolve(ctx, tenantA)
	if _, err := target.Backend.UpdateIncident(ctx, "7", defender.IncidentUpdate{Comment: "x"}); err != nil {
		t.Fatal(err)
	}
	close(fb.block)
	wg.Wait()
	if g.cache.len() != 0 {
		t.Errorf("cache entries = %d, want 0", g.cache.len())
	}
}
