package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/watch"
)

// testClock is a settable clock the hub's pollers read concurrently.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// watchedBackend holds incidents updated the given minutes before
// baseTime (ids as given), listed by last update, newest first.
func watchedBackend(entries ...[2]int) *fakeBackend {
	b := &fakeBackend{kind: defender.BackendGraph}
	for _, e := range entries {
		at := baseTime.Add(-time.Duration(e[1]) * time.Minute)
		b.incidents = append(b.incidents, defender.Incident{ID: strconv.Itoa(e[0]), Status: defender.StatusActive,
			Severity: defender.SeverityHigh, CreateTime: at.Add(-time.Hour), UpdateTime: at})
	}
	slices.SortStableFunc(b.incidents, func(x, y defender.Incident) int { return y.UpdateTime.Compare(x.UpdateTime) })
	return b
}

// newWatchFanService serves r's tenants, served in that order, with a hub
// whose pollers poll hourly (so only the catch-up rounds deliver).
func newWatchFanService(t *testing.T, r fanoutResolver, served ...string) (*IncidentService, *testClock) {
	t.Helper()
	clock := &testClock{t: baseTime}
	hub := watch.NewHub(watch.Options{Timing: watch.Timing{Interval: time.Hour, Overlap: time.Minute}, Now: clock.now})
	t.Cleanup(hub.Close)
	svc := NewIncidentService(r, testCodec(t, 1), nil, WithFanout(servedList(served), 2), WithWatch(hub, time.Hour, 24*time.Hour, 0))
	svc.tokens.now = clock.now
	return svc, clock
}

// watchFan runs one watch on tenants/- until n messages were sent.
func watchFan(t *testing.T, ctx context.Context, svc *IncidentService, cursor string, n int) ([]*defenderv1.WatchIncidentsResponse, error) {
	t.Helper()
	rec := newWatchRecorder(n)
	rec.ctx, rec.cancel = context.WithCancel(ctx)
	err := svc.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/-", Cursor: cursor}, rec)
	return rec.sent, err
}

func changeNames(msgs []*defenderv1.WatchIncidentsResponse) []string {
	var out []string
	for _, m := range msgs {
		if c := m.GetChange(); c != nil {
			out = append(out, c.GetIncident().GetName())
		}
	}
	slices.Sort(out)
	return out
}

// TestWatchAcrossTenants: one stream carries the changes of two tenants,
// each named under its own tenant; the tenant without consent is reported
// in the heartbeats; a watch resumed from any message's cursor loses no
// change of any tenant.
func TestWatchAcrossTenants(t *testing.T) {
	consent := defender.Errorf(defender.KindFailedPrecondition, defender.ReasonConsentRequired, "no consent")
	a := watchedBackend([2]int{1, 100}, [2]int{2, 5})
	b := watchedBackend([2]int{7, 120}, [2]int{8, 3})
	r := fanoutResolver{backends: map[string]defender.Backend{tenantA: a, tenantB: b}, errs: map[string]error{"northwind.example": consent}}
	svc, clock := newWatchFanService(t, r, "default", tenantB, "northwind.example")
	ctx := context.Background()

	// A watch 10 minutes ago: its cursor holds both tenants' positions.
	clock.set(baseTime.Add(-10 * time.Minute))
	start, err := watchFan(t, ctx, svc, "", 1)
	wantCode(t, err, codes.Canceled, "")
	hb := start[0].GetHeartbeat()
	if hb == nil || start[0].GetCursor() == "" {
		t.Fatalf("first message %v, want a heartbeat with a cursor", start[0])
	}
	if want := []string{"tenants/northwind.example"}; !slices.Equal(hb.GetUnreachable(), want) {
		t.Fatalf("unreachable %v, want %v", hb.GetUnreachable(), want)
	}
	if d := hb.GetUnreachableDetails(); len(d) != 1 || d[0].GetCode() != code.Code_FAILED_PRECONDITION || d[0].GetReason() != defender.ReasonConsentRequired {
		t.Fatalf("details %v", d)
	}

	// Resumed now: the changes since, of both tenants, on one stream.
	clock.set(baseTime)
	msgs, err := watchFan(t, ctx, svc, start[0].GetCursor(), 3)
	wantCode(t, err, codes.Canceled, "")
	want := []string{name(tenantA, 2), name(tenantB, 8)}
	if got := changeNames(msgs); !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	// Resumed from the first change's cursor: the other tenant's change is
	// not lost.
	first := msgs[1]
	again, err := watchFan(t, ctx, svc, first.GetCursor(), 3)
	wantCode(t, err, codes.Canceled, "")
	if got := changeNames(again); !slices.Equal(got, want) {
		t.Errorf("changes after resuming from the first change %v, want %v", got, want)
	}
}

// TestWatchAcrossCursors: a cursor of one tenant is refused on tenants/-,
// and the reverse, naming `cursor`; so is one of another filter.
func TestWatchAcrossCursors(t *testing.T) {
	r := fanoutResolver{backends: map[string]defender.Backend{tenantA: watchedBackend([2]int{1, 100}), tenantB: watchedBackend([2]int{2, 100})}}
	svc, _ := newWatchFanService(t, r, "default", tenantB)
	ctx := context.Background()
	fan, err := watchFan(t, ctx, svc, "", 1)
	wantCode(t, err, codes.Canceled, "")
	one := newWatchRecorder(1)
	wantCode(t, svc.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/default"}, one), codes.Canceled, "")

	_, err = watchFan(t, ctx, svc, one.sent[0].GetCursor(), 1)
	wantFieldError(t, err, "cursor")
	wantFieldError(t, svc.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: fan[0].GetCursor()}, newWatchRecorder(1)), "cursor")
	wantFieldError(t, svc.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/-", Cursor: fan[0].GetCursor(),
		Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_LOW}}, newWatchRecorder(1)), "cursor")
	// The cursor resumes its own watch.
	_, err = watchFan(t, ctx, svc, fan[0].GetCursor(), 1)
	wantCode(t, err, codes.Canceled, "")
}

// TestWatchAcrossPolicy: a caller allowed two of three tenants watches
// exactly those two, and the audit trace lists them.
func TestWatchAcrossPolicy(t *testing.T) {
	r := fanoutResolver{backends: map[string]defender.Backend{
		tenantA: watchedBackend([2]int{1, 4}), tenantB: watchedBackend([2]int{2, 4}), tenantC: watchedBackend([2]int{3, 4}),
	}}
	svc, clock := newWatchFanService(t, r, "default", tenantB, tenantC)
	req := &caller.Request{Identity: caller.Identity{Name: "api-key:two"}, AuthorizeTenant: func(tenant string) error {
		if tenant == "default" || tenant == tenantA || tenant == tenantC {
			return nil
		}
		return defender.Errorf(defender.KindPermissionDenied, defender.ReasonCallerTenantNotAllowed, "no")
	}}
	ctx := caller.NewContext(context.Background(), req)
	clock.set(baseTime.Add(-10 * time.Minute))
	start, err := watchFan(t, ctx, svc, "", 1)
	wantCode(t, err, codes.Canceled, "")
	clock.set(baseTime)
	msgs, err := watchFan(t, ctx, svc, start[0].GetCursor(), 3)
	wantCode(t, err, codes.Canceled, "")
	if got, want := changeNames(msgs), []string{name(tenantA, 1), name(tenantC, 3)}; !slices.Equal(got, want) {
		t.Errorf("changes %v, want %v", got, want)
	}
	if hb := msgs[0].GetHeartbeat(); len(hb.GetUnreachable()) != 0 {
		t.Errorf("unreachable %v", hb.GetUnreachable())
	}
	if got := req.Trace().Touched(); !slices.Contains(got, tenantA) || !slices.Contains(got, tenantC) || slices.Contains(got, tenantB) {
		t.Errorf("touched %v, want A and C", got)
	}
}

// TestWatchAcrossFails: the stream fails only when no tenant can be
// watched, or the caller may use none.
func TestWatchAcrossFails(t *testing.T) {
	down := &fakeBackend{kind: defender.BackendGraph, err: defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable, "down")}
	consent := defender.Errorf(defender.KindFailedPrecondition, defender.ReasonConsentRequired, "no consent")
	deny := &caller.Request{Identity: caller.Identity{Name: "api-key:x"}, AuthorizeTenant: func(string) error {
		return defender.Errorf(defender.KindPermissionDenied, defender.ReasonCallerTenantNotAllowed, "no")
	}}
	tests := []struct {
		name   string
		r      fanoutResolver
		caller *caller.Request
		want   codes.Code
		n      int // messages after which the test ends the watch
	}{
		{"no tenant resolves", fanoutResolver{errs: map[string]error{tenantA: consent, tenantB: consent}}, nil, codes.FailedPrecondition, 1},
		{"no tenant allowed", fanoutResolver{backends: map[string]defender.Backend{tenantA: watchedBackend(), tenantB: watchedBackend()}}, deny, codes.PermissionDenied, 1},
		{"one tenant down", fanoutResolver{backends: map[string]defender.Backend{tenantA: watchedBackend(), tenantB: down}}, nil, codes.Canceled, 1},
		// A's poller fails for good after the first heartbeat; B never
		// resolved: the stream ends with A's failure.
		{"the last tenant fails later", fanoutResolver{backends: map[string]defender.Backend{tenantA: &fakeBackend{kind: defender.BackendGraph, err: consent}},
			errs: map[string]error{tenantB: consent}}, nil, codes.FailedPrecondition, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newWatchFanService(t, tt.r, "default", tenantB)
			ctx := context.Background()
			if tt.caller != nil {
				ctx = caller.NewContext(ctx, tt.caller)
			}
			_, err := watchFan(t, ctx, svc, "", tt.n)
			wantCode(t, err, tt.want, "")
		})
	}
}

// TestWatchAcrossTenantFailsLater: a tenant whose poller fails for good
// during the watch is reported in the heartbeat sent then, and the stream
// goes on with the others; its position stays in the cursor.
func TestWatchAcrossTenantFailsLater(t *testing.T) {
	consent := defender.Errorf(defender.KindFailedPrecondition, defender.ReasonConsentRequired, "consent revoked")
	revoked := &fakeBackend{kind: defender.BackendGraph, err: consent}
	r := fanoutResolver{backends: map[string]defender.Backend{tenantA: watchedBackend([2]int{1, 100}), tenantB: revoked}}
	svc, _ := newWatchFanService(t, r, "default", tenantB)
	ctx := context.Background()
	msgs, err := watchFan(t, ctx, svc, "", 2)
	wantCode(t, err, codes.Canceled, "")
	if u := msgs[0].GetHeartbeat().GetUnreachable(); len(u) != 0 {
		t.Errorf("first heartbeat: unreachable %v, want none yet", u)
	}
	hb := msgs[1].GetHeartbeat()
	if want := []string{"tenants/" + tenantB}; !slices.Equal(hb.GetUnreachable(), want) {
		t.Fatalf("second message %v, want a heartbeat with %v unreachable", msgs[1], want)
	}
	if d := hb.GetUnreachableDetails()[0]; d.GetCode() != code.Code_FAILED_PRECONDITION || d.GetMessage() != "consent revoked" {
		t.Errorf("details %v", d)
	}
	states, err := svc.tokens.openWatchFanCursor(msgs[1].GetCursor(), watchFanCursorKind, fanoutFingerprintOf(ctx, defender.IncidentFilter{}, false).watchFanDigest())
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 || states[1].Tenant != tenantB || time.Unix(0, states[1].Watermark).Before(baseTime) {
		t.Errorf("cursor positions %+v, want both tenants at the watch's start", states)
	}
	// Resumed, the failed tenant is tried again, from its position: it
	// fails at once (its catch-up round), and is reported from the start.
	msgs, err = watchFan(t, ctx, svc, msgs[1].GetCursor(), 1)
	wantCode(t, err, codes.Canceled, "")
	if u := msgs[0].GetHeartbeat().GetUnreachable(); !slices.Equal(u, []string{"tenants/" + tenantB}) {
		t.Errorf("resumed: unreachable %v, want tenant B", u)
	}
}

// TestWatchAcrossExpiredPosition: a tenant whose position in the cursor is
// older than the gateway keeps is unreachable with WATCH_CURSOR_EXPIRED,
// keeps that position, and the others resume.
func TestWatchAcrossExpiredPosition(t *testing.T) {
	r := fanoutResolver{backends: map[string]defender.Backend{tenantA: watchedBackend([2]int{1, 3}), tenantB: watchedBackend([2]int{2, 3})}}
	svc, _ := newWatchFanService(t, r, "default", tenantB)
	ctx := context.Background()
	fp := fanoutFingerprintOf(ctx, defender.IncidentFilter{}, false)
	bind := func(tenant string) string {
		target, err := r.Resolve(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		return tenantBind(target)
	}
	old := baseTime.Add(-25 * time.Hour).UnixNano()
	codec := cursorCodec{tokens: svc.tokens, kind: watchFanCursorKind, digest: fp.watchFanDigest()}
	cursor, err := codec.encode([]watchFanTenant{
		{Tenant: tenantA, Bind: bind(tenantA), Watermark: baseTime.Add(-10 * time.Minute).UnixNano()},
		{Tenant: tenantB, Bind: bind(tenantB), Watermark: old},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := watchFan(t, ctx, svc, cursor, 2)
	wantCode(t, err, codes.Canceled, "")
	hb := msgs[0].GetHeartbeat()
	if !slices.Equal(hb.GetUnreachable(), []string{"tenants/" + tenantB}) || hb.GetUnreachableDetails()[0].GetReason() != ReasonWatchCursorExpired {
		t.Fatalf("heartbeat %v, want tenant B unreachable with %s", hb, ReasonWatchCursorExpired)
	}
	if got := changeNames(msgs); !slices.Equal(got, []string{name(tenantA, 1)}) {
		t.Errorf("changes %v, want tenant A's", got)
	}
	states, err := svc.tokens.openWatchFanCursor(msgs[1].GetCursor(), watchFanCursorKind, fp.watchFanDigest())
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 || states[1].Watermark != old {
		t.Errorf("positions %+v, want tenant B's kept", states)
	}
	// A tenant served now by another auth context makes the cursor invalid.
	moved, err := codec.encode([]watchFanTenant{{Tenant: tenantA, Bind: "elsewhere", Watermark: baseTime.UnixNano()}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = watchFan(t, ctx, svc, moved, 1)
	wantFieldError(t, err, "cursor")
}

// TestWatchFanCursorSize: the positions of a hundred tenants fit one
// cursor, and a cursor opens to what was encoded.
func TestWatchFanCursorSize(t *testing.T) {
	svc := NewIncidentService(fanoutResolver{}, testCodec(t, 1), nil)
	svc.tokens.now = func() time.Time { return baseTime }
	fp := fanoutFingerprintOf(context.Background(), defender.IncidentFilter{}, false)
	codec := cursorCodec{tokens: svc.tokens, kind: watchFanCursorKind, digest: fp.watchFanDigest()}
	rng := rand.New(rand.NewPCG(1, 2))
	var states []watchFanTenant
	for i := range 100 {
		states = append(states, watchFanTenant{
			// Random GUIDs and binds, as incompressible as real ones.
			Tenant:    fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff),
			Bind:      tenantBind(authctx.Target{Backend: &fakeBackend{kind: defender.BackendGraph}, Context: authctx.Info{Name: fmt.Sprint(rng.Uint64())}}),
			Watermark: baseTime.Add(-time.Duration(i)*time.Second - time.Duration(rng.IntN(1e9))).UnixNano(),
		})
	}
	cursor, err := codec.encode(states)
	if err != nil {
		t.Fatalf("100 tenants: %v", err)
	}
	if len(cursor) > maxWatchCursorLen {
		t.Fatalf("cursor of %d bytes", len(cursor))
	}
	t.Logf("a cursor of 100 tenants: %d bytes", len(cursor))
	got, err := svc.tokens.openWatchFanCursor(cursor, watchFanCursorKind, fp.watchFanDigest())
	if err != nil {
		t.Fatal(err)
	}
	// Positions are kept to the millisecond, never later.
	for i := range states {
		d := time.Duration(states[i].Watermark - got[i].Watermark)
		if got[i].Tenant != states[i].Tenant || got[i].Bind != states[i].Bind || d < 0 || d >= time.Millisecond {
			t.Fatalf("opened %+v, want %+v", got[i], states[i])
		}
	}
	// Another caller's fingerprint does not open it.
	other := fp
	other.Caller = "api-key:other"
	if _, err := svc.tokens.openWatchFanCursor(cursor, watchFanCursorKind, other.watchFanDigest()); err == nil {
		t.Error("another caller opened the cursor")
	}
}
