package watch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// waitTimeout bounds every wait on a condition: generous, since the
// conditions are met within a few polling intervals.
const waitTimeout = 10 * time.Second

// eventually fails t unless cond holds within waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// testMetrics counts the hub's metrics.
type testMetrics struct {
	mu                               sync.Mutex
	started, stopped                 int
	watchersStarted, watchersEnded   int
	polls                            map[string]int // by outcome
	startedByTenant, stoppedByTenant map[string]int
}

func newMetrics() *testMetrics {
	return &testMetrics{polls: map[string]int{}, startedByTenant: map[string]int{}, stoppedByTenant: map[string]int{}}
}

func (m *testMetrics) WatcherStarted(string) { m.mu.Lock(); m.watchersStarted++; m.mu.Unlock() }
func (m *testMetrics) WatcherEnded(string)   { m.mu.Lock(); m.watchersEnded++; m.mu.Unlock() }
func (m *testMetrics) PollerStarted(tenant string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started++
	m.startedByTenant[tenant]++
}

func (m *testMetrics) PollerStopped(tenant string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped++
	m.stoppedByTenant[tenant]++
}

func (m *testMetrics) WatchPoll(_, outcome string) { m.mu.Lock(); m.polls[outcome]++; m.mu.Unlock() }

// pollers returns how many pollers started and stopped.
func (m *testMetrics) pollers() (started, stopped int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.started, m.stopped
}

func (m *testMetrics) rounds(outcome string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.polls[outcome]
}

func (m *testMetrics) allRounds() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.polls {
		n += c
	}
	return n
}

// waitRounds waits until n more rounds (of any outcome) ran.
func (m *testMetrics) waitRounds(t *testing.T, n int) {
	t.Helper()
	want := m.allRounds() + n
	eventually(t, "polling rounds", func() bool { return m.allRounds() >= want })
}

var testKey = Key{Tenant: "t1", Context: "default", Backend: defender.BackendGraph}

func keyOf(tenant string) Key { k := testKey; k.Tenant = tenant; return k }

type hubFixture struct {
	hub *Hub
	clk *clock
	m   *testMetrics
}

// newTestHub returns a hub polling every 10ms with testTiming's window on
// an injected clock at t0, closed when the test ends.
func newTestHub(t *testing.T, tweak func(o *Options)) hubFixture {
	t.Helper()
	f := hubFixture{clk: newClock(t0), m: newMetrics()}
	o := Options{Timing: testTiming, Now: f.clk.Now, Metrics: f.m}
	if tweak != nil {
		tweak(&o)
	}
	f.hub = NewHub(o)
	t.Cleanup(f.hub.Close)
	return f
}

// reader takes a subscription's rounds as they come.
type reader struct {
	sub    *Subscription
	rounds []Round
	err    error
}

func subscribe(t *testing.T, h *Hub, key Key, b defender.Backend, since time.Time) *reader {
	t.Helper()
	ctx := context.Background()
	sub, err := h.Subscribe(ctx, key, Source{Backend: b, Values: ctx}, since)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(sub.Close)
	return &reader{sub: sub}
}

func (r *reader) take() {
	rounds, err := r.sub.Take()
	r.rounds = append(r.rounds, rounds...)
	if err != nil {
		r.err = err
	}
}

func (r *reader) events() []Event {
	var out []Event
	for _, rd := range r.rounds {
		out = append(out, rd.Events...)
	}
	return out
}

// waitFor takes rounds until cond holds.
func (r *reader) waitFor(t *testing.T, what string, cond func(r *reader) bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		r.take()
		if cond(r) {
			return
		}
		select {
		case <-r.sub.Ready():
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; got events %v, err %v", what, summary(r.events()), r.err)
		}
	}
}

// waitEvents waits until the events taken summarize to at least n entries.
func (r *reader) waitEvents(t *testing.T, n int) {
	t.Helper()
	r.waitFor(t, "events", func(r *reader) bool { return len(r.events()) >= n || r.err != nil })
}

func reasonOf(err error) string {
	if e, ok := defender.AsError(err); ok {
		return e.Reason
	}
	return ""
}
