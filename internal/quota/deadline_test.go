package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/quota"
)

// margin is the scheduler's deadlineMargin: the time it keeps between
// admission and a call's deadline for the upstream request.
const margin = 100 * time.Millisecond

// TestQueuedCallFailsBeforeItsDeadline: a bulk call whose deadline fitted
// on arrival but which interactive calls overtook fails with
// QUOTA_EXHAUSTED (and a RetryInfo) once its deadline leaves less than the
// margin, rather than being admitted then: an admitted request that cannot
// finish in time spends a unit of the upstream's budget for nothing and
// reaches the caller as DEADLINE_EXCEEDED. (Found by scripts/load.sh: under
// 1,000 concurrent callers with 2s deadlines a few admitted calls ended
// DEADLINE_EXCEEDED after their upstream request was sent.)
func TestQueuedCallFailsBeforeItsDeadline(t *testing.T) {
	const n = 50 // whole API: burst 5
	ei := interval(n, time.Minute)
	r := newRig(t, quota.Options{Budgets: budgets(map[quota.Family][]quota.Window{
		quota.FamilyHunting: perMin(1000), quota.FamilyIncidentGet: perMin(1000)}, perMin(n)), MaxWait: time.Hour})
	ctx := context.Background()
	for range 5 {
		if err := r.s.Admit(ctx, call(quota.FamilyIncidentGet, "playbook")); err != nil {
			t.Fatal(err)
		}
	}
	// The fake clock stands still in real time, so a deadline on it holds
	// for the test's few real milliseconds.
	bctx, cancel := context.WithDeadline(ctx, r.clock.Now().Add(5*ei/2+margin))
	defer cancel()
	bulk := r.admitAsync(bctx, call(quota.FamilyHunting, "export")) // estimate 2 intervals: fits
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
		t.Fatalf("bulk ended while its deadline still left the margin: %v", err)
	default:
	}
	// Past deadline-margin, before the bulk call's cell frees (3 intervals).
	r.step(t, ei/2+time.Nanosecond)
	select {
	case err := <-bulk:
		de := asError(t, err)
		if de.Kind != defender.KindThrottled || de.Reason != defender.ReasonQuotaExhausted || de.RetryAfter <= 0 {
			t.Errorf("bulk past its deadline less the margin: %+v, want Throttled QUOTA_EXHAUSTED with RetryAfter", de)
		}
	case <-time.After(5 * time.Second):
		r.clock.Advance(ei) // its cell frees: the old behaviour admits it now
		t.Fatalf("bulk still queued past its deadline less the margin; then: %v", <-bulk)
	}
	if q := r.queued(t); q != 0 {
		t.Errorf("Queued = %d, want 0", q)
	}
}
