package governor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

func get(ctx context.Context, t testing.TB, g *Governor) (*defender.Incident, error) {
	t.Helper()
	target, err := g.Resolve(ctx, tenantA)
	if err != nil {
		t.Fatal(err)
	}
	return target.Backend.GetIncident(ctx, "7", false)
}

func wantKind(t *testing.T, err error, kind defender.ErrorKind) {
	t.Helper()
	e, ok := defender.AsError(err)
	if !ok || e.Kind != kind {
		t.Fatalf("error = %v, want a *defender.Error of kind %v", err, kind)
	}
}

func TestLeaderLeavingDoesNotFailOthers(t *testing.T) {
	fb := &fakeBackend{block: make(chan struct{})}
	g := newTest(t, Options{Coalesce: true}, fb)
	base := as(t.Context(), "api-key:a", nil, "")
	leaderCtx, cancelLeader := context.WithCancel(base)
	leaderDone := make(chan error, 1)
	go func() { _, err := get(leaderCtx, t, g); leaderDone <- err }()
	waitFor(t, "the shared call to start", func() bool { return fb.count() == 1 })

	const others = 3
	errs := make([]error, others)
	var wg sync.WaitGroup
	for i := range others {
		wg.Go(func() { _, errs[i] = get(base, t, g) })
	}
	waitFor(t, "every caller to wait", func() bool { return g.flights.waiting() == others+1 })
	cancelLeader()
	wantKind(t, <-leaderDone, defender.KindCanceled)

	close(fb.block)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if fb.count() != 1 || fb.canceledCount() != 0 {
		t.Errorf("backend calls = %d, canceled = %d; want 1 and 0", fb.count(), fb.canceledCount())
	}
}

func TestLastLeavingCancelsTheCall(t *testing.T) {
	fb := &fakeBackend{block: make(chan struct{})}
	defer close(fb.block)
	g := newTest(t, Options{Coalesce: true}, fb)
	const n = 3
	cancels := make([]context.CancelFunc, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ctx, cancel := context.WithCancel(as(t.Context(), "api-key:a", nil, ""))
		cancels[i] = cancel
		wg.Go(func() { _, errs[i] = get(ctx, t, g) })
	}
	waitFor(t, "every caller to wait", func() bool { return g.flights.waiting() == n })
	for i, cancel := range cancels {
		cancel()
		if i < n-1 && fb.canceledCount() != 0 {
			t.Fatalf("the shared call was canceled with %d waiters left", n-1-i)
		}
	}
	wg.Wait()
	for _, err := range errs {
		wantKind(t, err, defender.KindCanceled)
	}
	waitFor(t, "the upstream call to be canceled", func() bool { return fb.canceledCount() == 1 })
	if g.flights.inflight() != 0 {
		t.Errorf("%d calls still in flight", g.flights.inflight())
	}
}

func TestWaiterOutlivingTheLeadersDeadline(t *testing.T) {
	fb := &fakeBackend{failFirstOnDeadline: true}
	g := newTest(t, Options{Coalesce: true}, fb)
	base := as(t.Context(), "api-key:a", nil, "")
	leaderCtx, cancel := context.WithTimeout(base, 50*time.Millisecond)
	defer cancel()
	leaderDone := make(chan error, 1)
	go func() { _, err := get(leaderCtx, t, g); leaderDone <- err }()
	waitFor(t, "the shared call to start", func() bool { return fb.count() == 1 })
	joinerDone := make(chan error, 1)
	go func() { _, err := get(base, t, g); joinerDone <- err }()
	wantKind(t, <-leaderDone, defender.KindDeadlineExceeded)
	if err := <-joinerDone; err != nil {
		t.Fatalf("the caller without a deadline failed with the leader's: %v", err)
	}
	if fb.count() != 2 {
		t.Errorf("backend calls = %d, want 2 (the leader's, then the joiner's own)", fb.count())
	}
}

func TestWriteStartsNewReads(t *testing.T) {
	fb := &fakeBackend{block: make(chan struct{})}
	g := newTest(t, Options{Coalesce: true}, fb)
	ctx := as(t.Context(), "api-key:a", nil, "")
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := get(ctx, t, g); err != nil {
			t.Error(err)
		}
	})
	waitFor(t, "the read to start", func() bool { return g.flights.waiting() == 1 })
	target, _ := g.Resolve(ctx, tenantA)
	if _, err := target.Backend.UpdateIncident(ctx, "7", defender.IncidentUpdate{Comment: "x"}); err != nil {
		t.Fatal(err)
	}
	wg.Go(func() {
		if _, err := get(ctx, t, g); err != nil {
			t.Error(err)
		}
	})
	// The first read's flight was forgotten by the update: the second read
	// starts its own upstream call.
	waitFor(t, "the second read to go upstream", func() bool { return fb.count() == 3 })
	close(fb.block)
	wg.Wait()
	if got := fb.count(); got != 3 {
		t.Errorf("backend calls = %d, want 3 (read, update, read begun after the update)", got)
	}
}

// TestExclusiveResult: a caller alone on its call is told so (its read
// skips the copy); callers that shared one are not, even the one that
// left before the result (it joined, so the others must copy).
func TestExclusiveResult(t *testing.T) {
	g := newGroup()
	ctx := t.Context()
	result := &defender.Incident{ID: "7"}
	v, exclusive, err := g.do(ctx, "k", func(context.Context) (any, error) { return result, nil }, nil)
	if err != nil || v != result || !exclusive {
		t.Fatalf("alone: %v, exclusive %v, %v; want the call's own result, exclusive", v, exclusive, err)
	}

	release := make(chan struct{})
	fn := func(context.Context) (any, error) { <-release; return result, nil }
	leaving, leave := context.WithCancel(ctx)
	left := make(chan error, 1)
	go func() { _, _, err := g.do(leaving, "k", fn, nil); left <- err }()
	waitFor(t, "the first caller to wait", func() bool { return g.waiting() == 1 })
	got := make(chan bool, 1)
	go func() { _, exclusive, _ := g.do(ctx, "k", fn, nil); got <- exclusive }()
	waitFor(t, "the second caller to join", func() bool { return g.waiting() == 2 })
	leave()
	<-left
	close(release)
	if <-got {
		t.Error("a caller that shared its call was told its result is its own")
	}
}
