package governor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/quota"
)

func TestGateAdmitsEveryCall(t *testing.T) {
	tests := []struct {
		name   string
		do     func(context.Context, defender.Backend) error
		family defender.Family
	}{
		{"ListIncidents", func(ctx context.Context, b defender.Backend) error {
			_, err := b.ListIncidents(ctx, defender.ListQuery{})
			return err
		}, quota.FamilyIncidentRead},
		{"GetIncident", func(ctx context.Context, b defender.Backend) error {
			_, err := b.GetIncident(ctx, "1", false)
			return err
		}, quota.FamilyIncidentGet},
		{"UpdateIncident", func(ctx context.Context, b defender.Backend) error {
			_, err := b.UpdateIncident(ctx, "1", defender.IncidentUpdate{Comment: "x"})
			return err
		}, quota.FamilyIncidentWrite},
		{"RunHuntingQuery", func(ctx context.Context, b defender.Backend) error {
			_, err := b.RunHuntingQuery(ctx, defender.HuntingQuery{Query: "T"})
			return err
		}, quota.FamilyHunting},
	}
	for _, tt := range tests {
		for _, coalesce := range []bool{true, false} {
			name := tt.name + "/direct"
			if coalesce {
				name = tt.name + "/coalesce"
			}
			t.Run(name, func(t *testing.T) {
				s := &fakeScheduler{}
				fb := &fakeBackend{kind: defender.BackendXDR}
				g := newTest(t, Options{Scheduler: s, Coalesce: coalesce}, fb)
				ctx := as(t.Context(), "api-key:ops", nil, "")
				target, err := g.Resolve(ctx, tenantA)
				if err != nil {
					t.Fatal(err)
				}
				if err := tt.do(ctx, target.Backend); err != nil {
					t.Fatal(err)
				}
				want := []quota.Call{{Tenant: tenantA, Backend: "xdr", Family: tt.family, Caller: "api-key:ops"}}
				if diff := cmp.Diff(want, s.admitted()); diff != "" {
					t.Errorf("admitted (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestGateRefusalFailsTheCall(t *testing.T) {
	refused := defender.Errorf(defender.KindThrottled, defender.ReasonQuotaExhausted, "no capacity")
	s := &fakeScheduler{admitErr: refused}
	g := newTest(t, Options{Scheduler: s, Coalesce: true}, &fakeBackend{})
	if _, err := get(as(t.Context(), "api-key:a", nil, ""), t, g); err != refused {
		t.Fatalf("error = %v, want the scheduler's", err)
	}
}

func TestNoSchedulerNoGate(t *testing.T) {
	g := newTest(t, Options{Coalesce: true}, &fakeBackend{})
	gated := false
	g.withGate = func(ctx context.Context, gt defender.Gate) context.Context { gated = true; return ctx }
	if _, err := get(as(t.Context(), "api-key:a", nil, ""), t, g); err != nil {
		t.Fatal(err)
	}
	if gated {
		t.Error("a gate was put in the context without a scheduler")
	}
}

func TestGateThrottledScope(t *testing.T) {
	tests := []struct {
		name       string
		family     defender.Family
		wait       time.Duration
		tenantWide bool
		want       quota.HoldScope
	}{
		{"family 429", quota.FamilyHunting, 30 * time.Second, false, quota.HoldFamily},
		{"tenant-wide 429", quota.FamilyIncidentRead, time.Minute, true, quota.HoldTenant},
		{"default wait", quota.FamilyIncidentGet, 0, false, quota.HoldFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &fakeScheduler{}
			gt := &gate{scheduler: s, tenant: tenantA, backend: "graph", caller: "app:c"}
			gt.Throttled(tt.family, tt.wait, tt.tenantWide)
			want := []throttle{{call: quota.Call{Tenant: tenantA, Backend: "graph", Family: tt.family, Caller: "app:c"}, scope: tt.want, wait: tt.wait}}
			if diff := cmp.Diff(want, s.throttles, cmp.AllowUnexported(throttle{})); diff != "" {
				t.Errorf("throttled (-want +got):\n%s", diff)
			}
		})
	}
}

// A coalesced read is one upstream call: admitted once, as its leader.
func TestCoalescedReadIsChargedOnce(t *testing.T) {
	s := &fakeScheduler{}
	fb := &fakeBackend{block: make(chan struct{})}
	g := newTest(t, Options{Scheduler: s, Coalesce: true}, fb)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := get(as(t.Context(), "api-key:first", nil, ""), t, g); err != nil {
			t.Error(err)
		}
	})
	waitFor(t, "the leader to go upstream", func() bool { return fb.count() == 1 })
	for _, name := range []string{"api-key:second", "api-key:third"} {
		wg.Go(func() {
			if _, err := get(as(t.Context(), name, nil, ""), t, g); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, "every caller to wait", func() bool { return g.flights.waiting() == 3 })
	close(fb.block)
	wg.Wait()
	want := []quota.Call{{Tenant: tenantA, Backend: "graph", Family: quota.FamilyIncidentGet, Caller: "api-key:first"}}
	if diff := cmp.Diff(want, s.admitted()); diff != "" {
		t.Errorf("admitted (-want +got):\n%s", diff)
	}
}
