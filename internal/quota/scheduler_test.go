package quota_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/quota"
	"github.com/defender-gateway/gateway/internal/quota/quotatest"
)

const tenant = "00000000-0000-0000-0000-00000000000a"

// budgets is one backend "xdr" with the given family and whole-API
// windows.
func budgets(fam map[quota.Family][]quota.Window, whole []quota.Window) quota.Budgets {
	return quota.Budgets{Backends: map[string]quota.Budget{"xdr": {Families: fam, WholeAPI: whole}}}
}

func perMin(n int) []quota.Window { return []quota.Window{{Count: n, Per: time.Minute}} }

type rig struct {
	clock *quotatest.FakeClock
	s     *quota.FairScheduler
}

func newRig(t *testing.T, o quota.Options) *rig {
	clock := quotatest.NewFakeClock(time.Now())
	o.Clock = clock
	if o.Store == nil {
		o.Store = quota.NewMemoryStore(clock)
	}
	s := quota.NewScheduler(o)
	t.Cleanup(s.Close)
	return &rig{clock: clock, s: s}
}

func call(f quota.Family, caller string) quota.Call {
	return quota.Call{Tenant: tenant, Backend: "xdr", Family: f, Caller: caller}
}

// interval is the emission interval of SafeLimit(n, per).
func interval(n int, per time.Duration) time.Duration {
	l := quota.SafeLimit(n, per)
	return l.Per / time.Duration(l.Rate)
}

func asError(t *testing.T, err error) *defender.Error {
	t.Helper()
	var de *defender.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *defender.Error", err)
	}
	return de
}

// eventually polls cond (real time) until it holds, or fails the test.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *rig) queued(t *testing.T) int {
	t.Helper()
	st, err := r.s.State(context.Background(), tenant, "xdr")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[quota.Family]bool{}
	n := 0
	for _, b := range st {
		if b.Family != quota.FamilyWholeAPI && !seen[b.Family] {
			seen[b.Family] = true
			n += b.Queued
		}
	}
	return n
}

// admitAsync starts Admit in a goroutine; the channel gets its result.
func (r *rig) admitAsync(ctx context.Context, c quota.Call) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- r.s.Admit(ctx, c) }()
	return ch
}

// step advances the clock by d once the dispatcher sleeps on its timer.
func (r *rig) step(t *testing.T, d time.Duration) {
	t.Helper()
	eventually(t, "the dispatcher to sleep", func() bool { return r.clock.Timers() > 0 })
	r.clock.Advance(d)
}

func TestAdmitExhaustionFailsFast(t *testing.T) {
	const n = 100 // SafeLimit: burst 10
	tests := []struct {
		name    string
		maxWait time.Duration
		taken   int
		want    time.Duration // RetryAfter; 0 = admitted
	}{
		{"within the burst", time.Millisecond, 9, 0},
		{"burst used up", time.Millisecond, 10, interval(n, time.Minute)},
		{"two calls past", time.Millisecond, 11, 2 * interval(n, time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, quota.Options{Budgets: budgets(map[quota.Family][]quota.Window{quota.FamilyIncidentGet: perMin(n)}, nil),
				MaxWait: tt.maxWait})
			ctx := context.Background()
			for range min(tt.taken, 10) {
				if err := r.s.Admit(ctx, call(quota.FamilyIncidentGet, "a")); err != nil {
					t.Fatal(err)
				}
			}
			if tt.taken > 10 { // one more taken as soon as it frees
				r.clock.Advance(interval(n, time.Minute))
				if err := r.s.Admit(ctx, call(quota.FamilyIncidentGet, "a")); err != nil {
					t.Fatal(err)
				}
			}
			err := r.s.Admit(ctx, call(quota.FamilyIncidentGet, "a"))
			if tt.want == 0 {
				if err != nil {
					t.Errorf("Admit = %v, want admitted", err)
				}
				return
			}
			de := asError(t, err)
			want := interval(n, time.Minute)
			if de.Kind != defender.KindThrottled || de.Reason != defender.ReasonQuotaExhausted || de.RetryAfter != want {
				t.Errorf("Admit = %+v, want Throttled QUOTA_EXHAUSTED RetryAfter %v", de, want)
			}
		})
	}
}

func TestAdmitWaitsWithinDeadline(t *testing.T) {
	r := newRig(t, quota.Options{Budgets: budgets(map[quota.Family][]quota.Window{quota.FamilyIncidentGet: perMin(10)}, nil)})
	ctx := context.Background()
	if err := r.s.Admit(ctx, call(quota.FamilyIncidentGet, "a")); err != nil { // burst 1
		t.Fatal(err)
	}
	done := r.admitAsync(ctx, call(quota.FamilyIncidentGet, "a"))
	eventually(t, "the call to queue", func() bool { return r.queued(t) == 1 })
	r.step(t, interval(10, time.Minute)/2)
	select {
	case err := <-done:
		t.Fatalf("admitted before a cell freed: %v", err)
	default:
	}
	r.step(t, interval(10, time.Minute)/2)
	if err := <-done; err != nil {
		t.Errorf("Admit = %v, want admitted", err)
	}
}

func TestAdmitCanceledWhileQueued(t *testing.T) {
	r := newRig(t, quota.Options{Budgets: budgets(map[quota.Family][]quota.Window{quota.FamilyIncidentGet: perMin(10)}, nil)})
	r.s.Admit(context.Background(), call(quota.FamilyIncidentGet, "a"))
	ctx, cancel := context.WithCancel(context.Background())
	done := r.admitAsync(ctx, call(quota.FamilyIncidentGet, "a"))
	eventually(t, "the call to queue", func() bool { return r.queued(t) == 1 })
	cancel()
	if de := asError(t, <-done); de.Kind != defender.KindCanceled {
		t.Errorf("Kind = %v, want Canceled", de.Kind)
	}
	if q := r.queued(t); q != 0 {
		t.Errorf("Queued = %d after the cancel, want 0", q)
	}
}

func TestMaxQueuedAndClose(t *testing.T) {
	r := newRig(t, quota.Options{Budgets: budgets(map[quota.Family][]quota.Window{quota.FamilyIncidentGet: perMin(10)}, nil),
		MaxQueued: 2, MaxWait: time.Hour})
	ctx := context.Background()
	r.s.Admit(ctx, call(quota.FamilyIncidentGet, "a"))
	first := r.admitAsync(ctx, call(quota.FamilyIncidentGet, "a"))
	eventually(t, "one queued", func() bool { return r.queued(t) == 1 })
	second := r.admitAsync(ctx, call(quota.FamilyIncidentGet, "b"))
	eventually(t, "two queued", func() bool { return r.queued(t) == 2 })
	if de := asError(t, r.s.Admit(ctx, call(quota.FamilyIncidentGet, "c"))); de.Kind != defender.KindThrottled ||
		de.Reason != defender.ReasonQuotaExhausted || de.RetryAfter < time.Second {
		t.Errorf("third queued call: %+v, want Throttled QUOTA_EXHAUSTED with RetryAfter", de)
	}
	r.s.Close()
	for _, ch := range []<-chan error{first, second} {
		if de := asError(t, <-ch); de.Kind != defender.KindUnavailable || de.Reason != defender.ReasonShuttingDown {
			t.Errorf("queued call after Close: %+v, want Unavailable SHUTTING_DOWN", de)
		}
	}
	if de := asError(t, r.s.Admit(ctx, call(quota.FamilyIncidentGet, "a"))); de.Reason != defender.ReasonShuttingDown {
		t.Errorf("Admit after Close: %+v, want SHUTTING_DOWN", de)
	}
}

func TestHolds(t *testing.T) {
	tests := []struct {
		name      string
		scope     quota.HoldScope
		wait      time.Duration
		wantWait  time.Duration
		otherHeld bool
	}{
		{"family", quota.HoldFamily, 7 * time.Second, 7 * time.Second, false},
		{"tenant", quota.HoldTenant, 9 * time.Second, 9 * time.Second, true},
		{"default hold", quota.HoldFamily, 0, 42 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, quota.Options{Budgets: quota.DefaultBudgets(), MaxWait: time.Millisecond, DefaultHold: 42 * time.Second})
			ctx := context.Background()
			r.s.Throttled(call(quota.FamilyIncidentGet, "a"), tt.scope, tt.wait)
			de := asError(t, r.s.Admit(ctx, call(quota.FamilyIncidentGet, "a")))
			if de.Kind != defender.KindThrottled || de.RetryAfter != tt.wantWait {
				t.Errorf("held family: %+v, want Throttled RetryAfter %v", de, tt.wantWait)
			}
			err := r.s.Admit(ctx, call(quota.FamilyIncidentWrite, "a"))
			if (err != nil) != tt.otherHeld {
				t.Errorf("other family: %v, held %v", err, tt.otherHeld)
			}
			st, _ := r.s.State(ctx, tenant, "xdr")
			for _, b := range st {
				if b.Family == quota.FamilyIncidentGet && b.HeldUntil.Sub(r.clock.Now()) != tt.wantWait {
					t.Errorf("State HeldUntil in %v, want %v", b.HeldUntil.Sub(r.clock.Now()), tt.wantWait)
				}
			}
			r.clock.Advance(tt.wantWait)
			if err := r.s.Admit(ctx, call(quota.FamilyIncidentGet, "a")); err != nil {
				t.Errorf("after the hold: %v", err)
			}
		})
	}
}

func TestHuntingHoldUntilNextCycle(t *testing.T) {
	r := newRig(t, quota.Options{Budgets: quota.DefaultBudgets(), MaxWait: time.Millisecond})
	now := r.clock.Now()
	r.s.Throttled(call(quota.FamilyHunting, "a"), quota.HoldFamily, 0)
	want := now.Truncate(15 * time.Minute).Add(15 * time.Minute).Sub(now)
	de := asError(t, r.s.Admit(context.Background(), call(quota.FamilyHunting, "a")))
	if de.RetryAfter != want {
		t.Errorf("RetryAfter %v, want %v (next 15-minute cycle)", de.RetryAfter, want)
	}
}

func TestState(t *testing.T) {
	r := newRig(t, quota.Options{Budgets: quota.DefaultBudgets()})
	ctx := context.Background()
	for range 3 {
		if err := r.s.Admit(ctx, call(quota.FamilyIncidentGet, "a")); err != nil {
			t.Fatal(err)
		}
	}
	st, err := r.s.State(ctx, tenant, "xdr")
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 10 { // four families and the whole API, two windows each
		t.Fatalf("%d entries, want 10: %+v", len(st), st)
	}
	type key struct {
		f quota.Family
		w time.Duration
	}
	want := map[key]quota.BudgetState{
		{quota.FamilyIncidentGet, time.Minute}:  {Limit: 100, Remaining: 7, ResetAfter: 3 * interval(100, time.Minute)},
		{quota.FamilyIncidentGet, time.Hour}:    {Limit: 1500, Remaining: 147, ResetAfter: 3 * interval(1500, time.Hour)},
		{quota.FamilyWholeAPI, time.Minute}:     {Limit: 50, Remaining: 2, ResetAfter: 3 * interval(50, time.Minute)},
		{quota.FamilyIncidentRead, time.Minute}: {Limit: 50, Remaining: 5},
	}
	for _, b := range st {
		w, ok := want[key{b.Family, b.Window}]
		if !ok {
			continue
		}
		if b.Limit != w.Limit || b.Remaining != w.Remaining || b.ResetAfter != w.ResetAfter || b.Queued != 0 || b.Shared || !b.HeldUntil.IsZero() {
			t.Errorf("%s/%s: %+v, want %+v", b.Family, b.Window, b, w)
		}
		delete(want, key{b.Family, b.Window})
	}
	if len(want) > 0 {
		t.Errorf("missing entries: %v", want)
	}
}

// TestMaxWaitWhileQueued: a bulk call that fitted MaxWait on arrival but
// was overtaken by interactive calls fails once it has queued longer than MaxWait.
func TestMaxWaitWhileQueued(t *testing.T) {
	const n = 50 // whole API: burst 5
	ei := interval(n, time.Minute)
	r := newRig(t, quota.Options{Budgets: budgets(map[quota.Family][]quota.Window{
		quota.FamilyHunting: perMin(1000), quota.FamilyIncidentGet: perMin(1000)}, perMin(n)), MaxWait: 5 * ei / 2})
	ctx := context.Background()
	for range 5 {
		if err := r.s.Admit(ctx, call(quota.FamilyIncidentGet, "playbook")); err != nil {
			t.Fatal(err)
		}
	}
	bulk := r.admitAsync(ctx, call(quota.FamilyHunting, "export")) // estimate 2 intervals
	eventually(t, "the bulk call to queue", func() bool { return r.queued(t) == 1 })
	var inter []<-chan error
	for i := range 2 {
		inter = append(inter, r.admitAsync(ctx, call(quota.FamilyIncidentGet, "playbook")))
		eventually(t, "an interactive call to queue", func() bool { return r.queued(t) == 2+i })
	}
	for i := range 2 {
		r.step(t, ei)
		if err := <-inter[i]; err != nil {
			t.Fatalf("interactive %d: %v", i, err)
		}
	}
	select {
	case err := <-bulk:
		t.Fatalf("bulk failed before MaxWait: %v", err)
	default:
	}
	r.step(t, ei/2+time.Nanosecond)
	de := asError(t, <-bulk)
	if de.Kind != defender.KindThrottled || de.Reason != defender.ReasonQuotaExhausted || de.RetryAfter <= 0 {
		t.Errorf("bulk after MaxWait: %+v, want Throttled QUOTA_EXHAUSTED with RetryAfter", de)
	}
}

// TestAdmitDeadline: the ctx deadline bounds the wait as MaxWait does
// (the fake clock starts at the wall clock's now, so deadlines compare).
func TestAdmitDeadline(t *testing.T) {
	ei := interval(10, time.Minute) // burst 1, then one every 6.67s
	tests := []struct {
		name     string
		deadline time.Duration
		queued   bool
	}{
		{"deadline before the next cell", ei / 2, false},
		{"deadline after the next cell", ei + time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, quota.Options{Budgets: budgets(map[quota.Family][]quota.Window{quota.FamilyIncidentGet: perMin(10)}, nil),
				MaxWait: time.Hour})
			if err := r.s.Admit(context.Background(), call(quota.FamilyIncidentGet, "a")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			done := r.admitAsync(ctx, call(quota.FamilyIncidentGet, "a"))
			if !tt.queued {
				de := asError(t, <-done)
				if de.Kind != defender.KindThrottled || de.RetryAfter != ei {
					t.Errorf("Admit = %+v, want Throttled with RetryAfter %v", de, ei)
				}
				return
			}
			eventually(t, "the call to queue", func() bool { return r.queued(t) == 1 })
			r.step(t, ei)
			if err := <-done; err != nil {
				t.Errorf("Admit = %v, want admitted", err)
			}
		})
	}
}
