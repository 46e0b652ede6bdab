package service

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
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
	}{
		{"no tenant resolves", fanoutResolver{errs: map[string]error{tenantA: consent, tenantB: consent}}, nil, codes.FailedPrecondition},
		{"no tenant allowed", fanoutResolver{backends: map[string]defender.Backend{tenantA: watchedBackend(), tenantB: watchedBackend()}}, deny, codes.PermissionDenied},
		{"one tenant down", fanoutResolver{backends: map[string]defender.Backend{tenantA: watchedBackend(), tenantB: down}}, nil, codes.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newWatchFanService(t, tt.r, "default", tenantB)
			ctx := context.Background()
			if tt.caller != nil {
				ctx = caller.NewContext(ctx, tt.caller)
			}
			_, err := watchFan(t, ctx, svc, "", 1)
			wantCode(t, err, tt.want, "")
		})
	}
}
