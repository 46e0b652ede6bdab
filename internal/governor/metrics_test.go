package governor

import (
	"context"
	"sync"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
)

// countingMetrics counts what the governor reports, by family.
type countingMetrics struct {
	mu                   sync.Mutex
	hits, misses, joined map[string]int
}

func newCountingMetrics() *countingMetrics {
	return &countingMetrics{hits: map[string]int{}, misses: map[string]int{}, joined: map[string]int{}}
}

func (m *countingMetrics) CacheLookup(family string, hit bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if hit {
		m.hits[family]++
	} else {
		m.misses[family]++
	}
}

func (m *countingMetrics) ReadCoalesced(family string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.joined[family]++
}

// TestMetricsCoalesced: of n identical concurrent reads, n-1 join the
// first one's call and are counted as coalesced.
func TestMetricsCoalesced(t *testing.T) {
	const n = 5
	fb := &fakeBackend{block: make(chan struct{})}
	m := newCountingMetrics()
	g := newTest(t, Options{Coalesce: true, Metrics: m}, fb)
	ctx := as(t.Context(), "api-key:a", nil, "")
	target, err := g.Resolve(ctx, tenantA)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { _, _ = target.Backend.GetIncident(ctx, "7", true) })
	}
	waitFor(t, "every caller to wait", func() bool { return g.flights.waiting() == n })
	close(fb.block)
	wg.Wait()
	if got := m.joined[string(defender.FamilyIncidentGet)]; got != n-1 {
		t.Errorf("coalesced = %d, want %d", got, n-1)
	}
	if len(m.hits)+len(m.misses) != 0 {
		t.Errorf("cache lookups counted without a cache: %v %v", m.hits, m.misses)
	}
}

// TestMetricsCache: a miss, then a hit within the TTL; and every call
// through the governor names its tenant for the upstream metrics.
func TestMetricsCache(t *testing.T) {
	fb := &fakeBackend{}
	m := newCountingMetrics()
	g := newTest(t, Options{Metrics: m, Cache: CacheOptions{TTLHunting: 60e9}}, fb)
	ctx := as(t.Context(), "api-key:a", nil, "")
	target, err := g.Resolve(ctx, tenantA)
	if err != nil {
		t.Fatal(err)
	}
	q := defender.HuntingQuery{Query: "T | take 1"}
	for range 2 {
		if _, err := target.Backend.RunHuntingQuery(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	fam := string(defender.FamilyHunting)
	if m.misses[fam] != 1 || m.hits[fam] != 1 {
		t.Errorf("cache misses %d hits %d, want 1 and 1", m.misses[fam], m.hits[fam])
	}
	if fb.count() != 1 {
		t.Errorf("backend calls = %d, want 1", fb.count())
	}
}

// TestTenantLabel: the backend sees the call's tenant, in lower case, as
// the label of its upstream requests.
func TestTenantLabel(t *testing.T) {
	var seen string
	inner := &labelBackend{fakeBackend: &fakeBackend{kind: "graph"}, seen: &seen}
	g, err := New(Options{Resolver: &fakeResolver{backend: inner.fakeBackend}})
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{g: g, inner: inner, tenant: "Tenant-A", kind: "graph"}
	if _, err := b.ListIncidents(context.Background(), defender.ListQuery{PageSize: 1}); err != nil {
		t.Fatal(err)
	}
	if seen != "tenant-a" {
		t.Errorf("tenant label %q, want tenant-a", seen)
	}
}

type labelBackend struct {
	*fakeBackend
	seen *string
}

func (l *labelBackend) ListIncidents(ctx context.Context, q defender.ListQuery) (*defender.IncidentPage, error) {
	*l.seen = defender.TenantLabel(ctx)
	return l.fakeBackend.ListIncidents(ctx, q)
}
