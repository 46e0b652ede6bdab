package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/quota"
	"github.com/defender-gateway/gateway/internal/quota/quotatest"
)

// shareStore answers under a share of every limit, as the Redis store
// does while Redis is lost: Rate and Burst divided by n, at least 1, and
// says so in Result.Applied.
type shareStore struct {
	*quota.MemoryStore
	n int
}

func (s shareStore) share(l quota.Limit) quota.Limit {
	return quota.Limit{Rate: max(1, l.Rate/s.n), Burst: max(1, l.Burst/s.n), Per: l.Per}
}

func (s shareStore) Allow(ctx context.Context, key string, l quota.Limit) (quota.Result, error) {
	r, err := s.MemoryStore.Allow(ctx, key, s.share(l))
	r.Applied = s.share(l)
	return r, err
}

func (s shareStore) Peek(ctx context.Context, key string, l quota.Limit) (quota.Result, error) {
	r, err := s.MemoryStore.Peek(ctx, key, s.share(l))
	r.Applied = s.share(l)
	return r, err
}

// TestEstimatesUnderALocalShare: while a store answers under a smaller
// limit than asked (a replica's local share with Redis lost), admission
// estimates with that limit: a call that cannot fit its deadline fails at
// once with the share's retry delay, instead of queueing on an estimate
// of the full budget and timing out.
func TestEstimatesUnderALocalShare(t *testing.T) {
	clock := quotatest.NewFakeClock(time.Now())
	// 50 a minute: SafeLimit burst 5, 45 a minute; a third is burst 1,
	// 15 a minute (one every 4s).
	r := &rig{clock: clock, s: quota.NewScheduler(quota.Options{Store: shareStore{quota.NewMemoryStore(clock), 3}, Clock: clock,
		Budgets: budgets(map[quota.Family][]quota.Window{quota.FamilyIncidentRead: perMin(50)}, perMin(50))})}
	t.Cleanup(r.s.Close)
	ctx := context.Background()
	if err := r.s.Admit(ctx, call(quota.FamilyIncidentRead, "a")); err != nil {
		t.Fatalf("first call in the share's burst: %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	de := asError(t, r.s.Admit(dctx, call(quota.FamilyIncidentRead, "b")))
	if de.Kind != defender.KindThrottled || de.Reason != defender.ReasonQuotaExhausted || de.RetryAfter != 4*time.Second {
		t.Errorf("second call = %+v; want QUOTA_EXHAUSTED at once with RetryAfter 4s (the share's interval)", de)
	}
	if q := r.queued(t); q != 0 {
		t.Errorf("%d calls queued; want none", q)
	}
}

// TestQueuedCallExpiresBeforeItsDeadline: two replicas (two schedulers on
// one store) each queue a call for the same next cell, each estimate
// fitting its deadline. One gets the cell; the other fails with
// QUOTA_EXHAUSTED and a retry delay when only the upstream margin is left
// of its deadline, not with DEADLINE_EXCEEDED when the deadline passes.
func TestQueuedCallExpiresBeforeItsDeadline(t *testing.T) {
	clock := quotatest.NewFakeClock(time.Now())
	store := quota.NewMemoryStore(clock)
	b := budgets(map[quota.Family][]quota.Window{quota.FamilyIncidentGet: perMin(10)}, nil)
	ei := interval(10, time.Minute) // burst 1, then one every 6.67s
	replicas := []*quota.FairScheduler{
		quota.NewScheduler(quota.Options{Store: store, Clock: clock, Budgets: b, MaxWait: time.Hour}),
		quota.NewScheduler(quota.Options{Store: store, Clock: clock, Budgets: b, MaxWait: time.Hour}),
	}
	for _, s := range replicas {
		t.Cleanup(s.Close)
	}
	ctx := context.Background()
	if err := replicas[0].Admit(ctx, call(quota.FamilyIncidentGet, "a")); err != nil {
		t.Fatal(err)
	}
	// The fake clock starts at the wall clock's now; the real deadline
	// (ei+2s away) is never reached: the test only advances the fake one.
	const slack = 2 * time.Second
	dctx, cancel := context.WithTimeout(ctx, ei+slack)
	defer cancel()
	done := make([]chan error, len(replicas))
	for i, s := range replicas {
		done[i] = make(chan error, 1)
		go func() { done[i] <- s.Admit(dctx, call(quota.FamilyIncidentGet, "b")) }()
	}
	eventually(t, "both calls to queue", func() bool {
		n := 0
		for _, s := range replicas {
			st, _ := s.State(ctx, tenant, "xdr")
			n += st[0].Queued
		}
		return n == 2
	})
	eventually(t, "both dispatchers to sleep", func() bool { return clock.Timers() >= 2 })
	clock.Advance(ei)
	// One of them takes the cell.
	var admitted, pending int
	select {
	case err := <-done[0]:
		admitted, pending = 0, 1
		if err != nil {
			t.Fatalf("replica 0's call = %v; want admitted", err)
		}
	case err := <-done[1]:
		admitted, pending = 1, 0
		if err != nil {
			t.Fatalf("replica 1's call = %v; want admitted", err)
		}
	}
	eventually(t, "the other dispatcher to sleep", func() bool { return clock.Timers() >= 1 })
	select {
	case err := <-done[pending]:
		t.Fatalf("replica %d's call ended with %v before its deadline's margin", pending, err)
	default:
	}
	clock.Advance(slack)
	de := asError(t, <-done[pending])
	if de.Kind != defender.KindThrottled || de.Reason != defender.ReasonQuotaExhausted || de.RetryAfter <= 0 {
		t.Errorf("replica %d's call (replica %d took the cell) = %+v; want QUOTA_EXHAUSTED with RetryAfter", pending, admitted, de)
	}
	if dctx.Err() != nil {
		t.Error("the real deadline passed: the call was not failed by its margin")
	}
}
