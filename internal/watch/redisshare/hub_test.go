package redisshare

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/testredis"
	"github.com/defender-gateway/gateway/internal/watch"
)

const leaseTTL = time.Second

var hubKey = watch.Key{Tenant: "t", Context: "default", Backend: defender.BackendGraph}

// crashed is a replica that dies holding its lease: it never releases.
type crashed struct{ *Store }

func (crashed) Release(context.Context, string) error { return nil }

func newHub(t *testing.T, sh watch.Shared, m *metrics) *watch.Hub {
	t.Helper()
	h := watch.NewHub(watch.Options{
		Timing: watch.Timing{Interval: 20 * time.Millisecond, Overlap: 2 * time.Second, Delay: 100 * time.Millisecond, ExpandRetry: time.Minute},
		Shared: sh, Metrics: m,
	})
	t.Cleanup(h.Close)
	return h
}

// reader takes a subscription's rounds.
type reader struct {
	sub    *watch.Subscription
	rounds []watch.Round
	err    error
}

func subscribe(t *testing.T, h *watch.Hub, b defender.Backend) *reader {
	t.Helper()
	sub, err := h.Subscribe(context.Background(), hubKey, watch.Source{Backend: b, Values: context.Background()}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return &reader{sub: sub}
}

func (r *reader) ids() []string {
	var out []string
	for _, rd := range r.rounds {
		for _, ev := range rd.Events {
			out = append(out, ev.Incident.ID)
		}
	}
	return out
}

func (r *reader) waitFor(t *testing.T, what string, cond func(r *reader) bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		rounds, err := r.sub.Take()
		r.rounds = append(r.rounds, rounds...)
		if err != nil {
			r.err = err
		}
		if cond(r) {
			return
		}
		if r.err != nil {
			t.Fatalf("waiting for %s: the subscription ended: %v", what, r.err)
		}
		select {
		case <-r.sub.Ready():
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; got %v", what, r.ids())
		}
	}
}

// waitIDs waits until every one of ids was delivered.
func (r *reader) waitIDs(t *testing.T, ids ...string) {
	t.Helper()
	r.waitFor(t, "changes "+joined(ids), func(r *reader) bool {
		got := r.ids()
		for _, id := range ids {
			if !slices.Contains(got, id) {
				return false
			}
		}
		return true
	})
}

func joined(ids []string) string {
	s := ""
	for _, id := range ids {
		s += id + " "
	}
	return s
}

// TestSharedHubs: two replicas sharing one Redis and one upstream cost one
// poller; both replicas' watchers get every change, once; when the polling
// replica goes (closing, or dying with its lease), the other takes over
// within the lease TTL and a second, from the published state, losing
// nothing.
func TestSharedHubs(t *testing.T) {
	for _, crash := range []bool{false, true} {
		name := "the leader closes"
		if crash {
			name = "the leader dies holding its lease"
		}
		t.Run(name, func(t *testing.T) {
			srv := testredis.Start(t)
			b := newFake()
			mA, mB := &metrics{}, &metrics{}
			var shA watch.Shared = newStore(t, newClient(t, srv), "a", "p:")
			if crash {
				shA = crashed{shA.(*Store)}
			}
			hA := newHub(t, shA, mA)
			hB := newHub(t, newStore(t, newClient(t, srv), "b", "p:"), mB)
			ra := subscribe(t, hA, b)
			eventually(t, "a to lead", mA.leading)
			rb := subscribe(t, hB, b)
			// Both replicas follow the stream once each has a round.
			for _, r := range []*reader{ra, rb} {
				r.waitFor(t, "a round", func(r *reader) bool { return len(r.rounds) > 0 })
			}
			for _, id := range []string{"c1", "c2", "c3"} {
				b.change(id)
				ra.waitIDs(t, id)
				rb.waitIDs(t, id)
			}
			startedB, _, pollsB := mB.get()
			_, _, pollsA := mA.get()
			if startedB != 0 || pollsB != 0 {
				t.Errorf("b polled (%d pollers, %d rounds) while a led", startedB, pollsB)
			}
			if lists := b.listCalls(); lists > pollsA+1 { // +1: a round under way
				t.Errorf("%d list calls for a's %d rounds", lists, pollsA)
			}

			b.change("c4")
			start := time.Now()
			hA.Close()
			b.change("c5")
			rb.waitIDs(t, "c4", "c5")
			t.Logf("takeover took %v", time.Since(start))
			if took := time.Since(start); took > leaseTTL+time.Second {
				t.Errorf("b delivered the changes %v after a went; want within %v", took, leaseTTL+time.Second)
			}
			if !mB.leading() {
				t.Error("b does not poll after a went")
			}
			ra.waitFor(t, "a's end", func(r *reader) bool { return r.err != nil })
			if !errors.Is(ra.err, watch.ErrClosed) {
				t.Errorf("a's subscription ended with %v; want ErrClosed", ra.err)
			}
			b.change("c6")
			rb.waitIDs(t, "c6")
			// Every change once: b polled from a's published state,
			// which held the versions a delivered.
			got := rb.ids()
			if want := []string{"c1", "c2", "c3", "c4", "c5", "c6"}; !slices.Equal(got, want) {
				t.Errorf("b's subscription got %v; want %v", got, want)
			}
			_, _, pollsA = mA.get()
			_, _, pollsB = mB.get()
			if lists := b.listCalls(); lists > pollsA+pollsB+1 {
				t.Errorf("%d list calls for %d rounds", lists, pollsA+pollsB)
			}
		})
	}
}

// slowTail is a replica whose first read of the round stream's tail waits
// for the test: the start of a feed's reader, slowed.
type slowTail struct {
	*Store
	entered, gate chan struct{}
}

func (s *slowTail) Tail(ctx context.Context, key string) (string, error) {
	select {
	case <-s.entered:
	default:
		close(s.entered)
		select {
		case <-s.gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return s.Store.Tail(ctx, key)
}

// TestSharedSubscribeBeforeReader: a change made after Subscribe returned
// reaches the subscription even when another replica publishes it before
// this replica's reader has found where the round stream ends.
func TestSharedSubscribeBeforeReader(t *testing.T) {
	srv := testredis.Start(t)
	b := newFake()
	mA := &metrics{}
	hA := newHub(t, newStore(t, newClient(t, srv), "a", "p:"), mA)
	slow := &slowTail{Store: newStore(t, newClient(t, srv), "b", "p:"), entered: make(chan struct{}), gate: make(chan struct{})}
	hB := newHub(t, slow, &metrics{})
	ra := subscribe(t, hA, b)
	eventually(t, "a to lead", mA.leading)
	ra.waitFor(t, "a round", func(r *reader) bool { return len(r.rounds) > 0 })

	subscribed := make(chan *reader, 1)
	go func() {
		sub, err := hB.Subscribe(context.Background(), hubKey, watch.Source{Backend: b, Values: context.Background()}, time.Time{})
		if err != nil {
			t.Error(err)
			close(subscribed)
			return
		}
		subscribed <- &reader{sub: sub}
	}()
	<-slow.entered
	// Subscribe must not return while the reader is held: a change made
	// after it returned could be published before the reader starts, and
	// never reach the subscription.
	var rb *reader
	select {
	case rb = <-subscribed:
	case <-time.After(50 * time.Millisecond):
	}
	early := rb != nil
	b.change("x")
	ra.waitIDs(t, "x")
	close(slow.gate)
	if rb == nil {
		rb = <-subscribed
	}
	if rb == nil {
		t.FailNow()
	}
	t.Cleanup(rb.sub.Close)
	b.change("y")
	rb.waitIDs(t, "y")
	if early {
		t.Errorf("Subscribe returned before its replica's reader found the end of the round stream")
		if got := rb.ids(); !slices.Contains(got, "x") {
			t.Errorf("b's subscription got %v: it lost x, changed after Subscribe returned", got)
		}
	}
}

// TestSharedSubscribeCancelled: a Subscribe whose context ends while its
// replica's reader is not there yet returns the context's error and frees
// its place.
func TestSharedSubscribeCancelled(t *testing.T) {
	srv := testredis.Start(t)
	slow := &slowTail{Store: newStore(t, newClient(t, srv), "b", "p:"), entered: make(chan struct{}), gate: make(chan struct{})}
	h := newHub(t, slow, &metrics{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	sub, err := h.Subscribe(ctx, hubKey, watch.Source{Backend: newFake(), Values: ctx}, time.Time{})
	if !errors.Is(err, context.DeadlineExceeded) || sub != nil {
		t.Fatalf("Subscribe = %v, %v; want the context's deadline", sub, err)
	}
	if n := h.Watchers(); n != 0 {
		t.Errorf("Watchers() = %d", n)
	}
}

// slowBackend lists slowly: each round outlasts the lease TTL, as a large
// tenant's round does (many pages, the quota scheduler's waits, or the
// per-incident reads of the $expand=alerts fallback).
type slowBackend struct {
	*fakeBackend
	delay time.Duration
}

func (s slowBackend) ListIncidents(ctx context.Context, q defender.ListQuery) (*defender.IncidentPage, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
	}
	return s.fakeBackend.ListIncidents(ctx, q)
}

// TestSharedLongRound: a round longer than the lease TTL is still
// published: the leader keeps its lease while it polls. One replica, so
// no other can take the lease meanwhile.
func TestSharedLongRound(t *testing.T) {
	srv := testredis.Start(t)
	b := slowBackend{fakeBackend: newFake(), delay: leaseTTL + leaseTTL/2}
	m := &metrics{}
	h := newHub(t, newStore(t, newClient(t, srv), "a", "p:"), m)
	r := subscribe(t, h, b)
	b.change("x")
	r.waitIDs(t, "x")
}
