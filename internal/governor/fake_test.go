package governor

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/quota"
)

const (
	tenantA = "aaaaaaaa-1111-4222-8333-444444444444"
	tenantB = "bbbbbbbb-1111-4222-8333-444444444444"
)

type testGateKey struct{}

// fakeBackend counts its calls, admits each through the gate in its
// context as the real client does, and optionally blocks until released
// (or until its context ends, which it records).
type fakeBackend struct {
	kind defender.BackendKind

	mu       sync.Mutex
	calls    int
	canceled int
	block    chan struct{} // nil: answer at once
	started  chan struct{} // gets a value per call, when not nil
	fail     error         // answered instead of a result
	// failFirstOnDeadline makes the first call wait for its context's end
	// and answer its error.
	failFirstOnDeadline bool
	// delay is the upstream's latency (benchmarks only).
	delay time.Duration
}

func (f *fakeBackend) Kind() defender.BackendKind { return f.kind }

func (f *fakeBackend) enter(ctx context.Context, family defender.Family) error {
	f.mu.Lock()
	f.calls++
	n := f.calls
	block, started, fail, firstDeadline := f.block, f.started, f.fail, f.failFirstOnDeadline
	f.mu.Unlock()
	if g, ok := ctx.Value(testGateKey{}).(defender.Gate); ok {
		if err := g.Admit(ctx, family); err != nil {
			return err
		}
	}
	if started != nil {
		started <- struct{}{}
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if firstDeadline && n == 1 {
		<-ctx.Done()
		return contextError(ctx)
	}
	if block != nil && family != defender.FamilyIncidentWrite && family != defender.FamilyAlertWrite {
		select {
		case <-block:
		case <-ctx.Done():
			f.mu.Lock()
			f.canceled++
			f.mu.Unlock()
			return contextError(ctx)
		}
	}
	return fail
}

func (f *fakeBackend) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeBackend) canceledCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.canceled
}

func testIncident(id string) *defender.Incident {
	return &defender.Incident{
		ID: id, DisplayName: "incident " + id, Tags: []string{"t1"}, Comments: []defender.Comment{{Text: "c"}},
		Alerts: []defender.Alert{{ID: "al-" + id, MitreTechniques: []string{"T1"},
			Evidence: []defender.Evidence{{Type: "file", Details: map[string]any{"k": []any{"v", map[string]any{"n": 1.0}}}}}}},
	}
}

func (f *fakeBackend) ListIncidents(ctx context.Context, q defender.ListQuery) (*defender.IncidentPage, error) {
	if err := f.enter(ctx, defender.FamilyIncidentRead); err != nil {
		return nil, err
	}
	return &defender.IncidentPage{Incidents: []defender.Incident{*testIncident("1"), *testIncident("2")}, NextCursor: q.Cursor + "next"}, nil
}

func (f *fakeBackend) GetIncident(ctx context.Context, id string, withAlerts bool) (*defender.Incident, error) {
	if err := f.enter(ctx, defender.FamilyIncidentGet); err != nil {
		return nil, err
	}
	return testIncident(id), nil
}

func (f *fakeBackend) UpdateIncident(ctx context.Context, id string, u defender.IncidentUpdate) (*defender.Incident, error) {
	if err := f.enter(ctx, defender.FamilyIncidentWrite); err != nil {
		return nil, err
	}
	return testIncident(id), nil
}

func (f *fakeBackend) RunHuntingQuery(ctx context.Context, q defender.HuntingQuery) (*defender.HuntingResult, error) {
	if err := f.enter(ctx, defender.FamilyHunting); err != nil {
		return nil, err
	}
	return &defender.HuntingResult{Columns: []defender.HuntingColumn{{Name: "A", Type: "string"}},
		Rows: []map[string]any{{"A": "x", "D": map[string]any{"z": []any{1.0}}}}, Stats: map[string]any{"cpu": 1.0}}, nil
}

func (f *fakeBackend) StreamHuntingQuery(ctx context.Context, q defender.HuntingQuery, sink defender.HuntingSink) error {
	if err := f.enter(ctx, defender.FamilyHunting); err != nil {
		return err
	}
	if err := sink.Columns([]defender.HuntingColumn{{Name: "A", Type: "string"}}); err != nil {
		return err
	}
	return sink.Row(map[string]any{"A": "x"})
}

func testAlert(id string) *defender.Alert {
	return &defender.Alert{ID: id, IncidentID: "1", MitreTechniques: []string{"T1"}, Comments: []defender.Comment{{Text: "c"}}}
}

func (f *fakeBackend) ListAlerts(ctx context.Context, q defender.AlertListQuery) (*defender.AlertPage, error) {
	if err := f.enter(ctx, defender.FamilyAlertRead); err != nil {
		return nil, err
	}
	return &defender.AlertPage{Alerts: []defender.Alert{*testAlert("a1"), *testAlert("a2")}, NextCursor: q.Cursor + "next"}, nil
}

func (f *fakeBackend) GetAlert(ctx context.Context, id string) (*defender.Alert, error) {
	if err := f.enter(ctx, defender.FamilyAlertGet); err != nil {
		return nil, err
	}
	return testAlert(id), nil
}

func (f *fakeBackend) UpdateAlert(ctx context.Context, id string, _ defender.AlertUpdate) (*defender.Alert, error) {
	if err := f.enter(ctx, defender.FamilyAlertWrite); err != nil {
		return nil, err
	}
	return testAlert(id), nil
}

// fakeResolver serves every tenant with one backend, in the context that
// ctx's caller selects: the app context, or the user context.
type fakeResolver struct {
	backend *fakeBackend
	// contextName is the app-or-partner context name (default the app's).
	contextName string
}

func (r *fakeResolver) Resolve(ctx context.Context, tenant string) (authctx.Target, error) {
	info := authctx.Info{Name: authctx.AppContextName, Kind: authctx.KindApp, Tenant: tenant, Backend: r.backend.kind}
	if r.contextName != "" {
		info.Name, info.Kind = r.contextName, authctx.KindPartner
	}
	if req := caller.FromContext(ctx); req != nil && req.UsesUserContext() {
		info = authctx.Info{Name: authctx.OnBehalfOfContextName, Kind: authctx.KindUser, Tenant: tenant, Backend: r.backend.kind}
		if req.Account != "" {
			info.Name, info.Account = "contexts/user/accounts/"+strings.ToLower(req.Account), req.Account
		} else {
			info.Account = req.UserToken.UPN
		}
	}
	return authctx.Target{Backend: r.backend, Tenant: tenant, Context: info}, nil
}

// fakeScheduler records what it is asked.
type fakeScheduler struct {
	mu        sync.Mutex
	admits    []quota.Call
	throttles []throttle
	admitErr  error
}

type throttle struct {
	call  quota.Call
	scope quota.HoldScope
	wait  time.Duration
}

func (s *fakeScheduler) Admit(ctx context.Context, c quota.Call) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.admits = append(s.admits, c)
	return s.admitErr
}

func (s *fakeScheduler) Throttled(c quota.Call, scope quota.HoldScope, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttles = append(s.throttles, throttle{c, scope, wait})
}

func (s *fakeScheduler) State(context.Context, string, string) ([]quota.BudgetState, error) {
	return nil, nil
}

func (s *fakeScheduler) admitted() []quota.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]quota.Call(nil), s.admits...)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTest builds a governor over a fake backend, its gates visible to the
// backend under testGateKey.
func newTest(t testing.TB, opts Options, fb *fakeBackend) *Governor {
	t.Helper()
	if fb.kind == "" {
		fb.kind = defender.BackendKind("graph")
	}
	if opts.Resolver == nil {
		opts.Resolver = &fakeResolver{backend: fb}
	}
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	g.withGate = func(ctx context.Context, gt defender.Gate) context.Context {
		return context.WithValue(defender.WithGate(ctx, gt), testGateKey{}, gt)
	}
	return g
}

// as returns ctx with a caller of identity name (and, for the user
// context, its token's object id or a signed-in account).
func as(ctx context.Context, name string, user *caller.UserToken, account string) context.Context {
	return caller.NewContext(ctx, &caller.Request{Identity: caller.Identity{Name: name}, UserToken: user, Account: account})
}

// waiting is how many callers wait on shared calls.
func (g *group) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, f := range g.m {
		n += f.waiters
	}
	return n
}

// waitFor polls cond until it holds, failing the test after a long bound
// (a hang, not a timing goal).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
