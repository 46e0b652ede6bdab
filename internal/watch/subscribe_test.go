package watch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/defender-gateway/gateway/internal/defender"
)

// TestSubscribeSince: a subscription from a position first gets the
// catch-up round (everything changed since it), then the live rounds,
// without what the catch-up held even though the live poller reads it too.
func TestSubscribeSince(t *testing.T) {
	since := at(-30)
	for _, existing := range []bool{false, true} {
		name := "new feed"
		if existing {
			name = "existing feed"
		}
		t.Run(name, func(t *testing.T) {
			f := newTestHub(t, nil)
			// x is only in the catch-up's window; y is in the live
			// poller's too (it reads from -15).
			b := newFake()
			var plain *reader
			if existing {
				// A change made before a subscription without a position
				// is not promised to it: change once it is in.
				plain = subscribe(t, f.hub, testKey, b, time.Time{})
				f.m.waitRounds(t, 1)
			}
			b.put(inc("old", -200, -100), inc("x", -200, -20), inc("y", -200, -8))
			if existing {
				plain.waitEvents(t, 1)
			}
			r := subscribe(t, f.hub, testKey, b, since)
			if !r.sub.Start.Equal(since) {
				t.Errorf("Start = %v; want since", r.sub.Start)
			}
			r.take()
			if len(r.rounds) == 0 || !r.rounds[0].From.Equal(since) {
				t.Fatalf("first round %+v; want the catch-up from since", r.rounds)
			}
			if diff := cmp.Diff([]string{"updated x@-20", "updated y@-8"}, summary(r.rounds[0].Events)); diff != "" {
				t.Errorf("catch-up round (-want +got):\n%s", diff)
			}
			f.m.waitRounds(t, 3)
			b.put(inc("z", -1, 0))
			r.waitFor(t, "z", func(r *reader) bool { return len(r.events()) >= 3 })
			f.m.waitRounds(t, 2)
			r.take()
			if diff := cmp.Diff([]string{"updated x@-20", "updated y@-8", "created z@0"}, summary(r.events())); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if existing {
				// The live rounds did hold y: the plain subscription got it.
				plain.waitEvents(t, 2)
				if diff := cmp.Diff([]string{"updated y@-8", "created z@0"}, summary(plain.events())); diff != "" {
					t.Errorf("the plain subscription's events (-want +got):\n%s", diff)
				}
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if !slices.ContainsFunc(b.froms, func(t time.Time) bool { return t.Equal(since.Add(-testTiming.Overlap)) }) {
				t.Errorf("no listing from since minus the overlap: %v", b.froms)
			}
			if b.notFresh != 0 {
				t.Errorf("%d upstream calls without WithFreshRead", b.notFresh)
			}
		})
	}
}

// TestSubscribeChangeDuringCatchUp: a change the upstream makes while the
// catch-up round reads (a new incident, and a newer version of one the
// catch-up holds) reaches the subscription through the live rounds.
func TestSubscribeChangeDuringCatchUp(t *testing.T) {
	since := at(-30)
	f := newTestHub(t, nil)
	b := newFake()
	var once sync.Once
	b.onList = func(q defender.ListQuery) {
		if q.Filter.UpdatedFrom.Equal(since.Add(-testTiming.Overlap)) {
			once.Do(func() { b.put(inc("c", -1, -1), inc("x", -200, -0.5)) })
		}
	}
	plain := subscribe(t, f.hub, testKey, b, time.Time{})
	f.m.waitRounds(t, 1)
	b.put(inc("x", -200, -8))
	plain.waitEvents(t, 1)
	r := subscribe(t, f.hub, testKey, b, since)
	r.take()
	if diff := cmp.Diff([]string{"updated x@-8"}, summary(r.rounds[0].Events)); diff != "" {
		t.Fatalf("catch-up round (-want +got):\n%s", diff)
	}
	r.waitEvents(t, 3)
	f.m.waitRounds(t, 2)
	r.take()
	if diff := cmp.Diff([]string{"updated x@-8", "created c@-1", "updated x@-0.5"}, summary(r.events())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestSubscribeLagging: a subscription that falls more than its buffer
// behind ends with WATCH_LAGGING, its queue dropped; the others go on.
func TestSubscribeLagging(t *testing.T) {
	f := newTestHub(t, func(o *Options) { o.Buffer = 3 })
	b := newFake()
	slow := subscribe(t, f.hub, testKey, b, time.Time{})
	fast := subscribe(t, f.hub, testKey, b, time.Time{})
	for i, id := range []string{"a", "b", "c", "d"} {
		b.put(inc(id, -1, float64(i)))
		fast.waitEvents(t, i+1)
	}
	rounds, err := slow.sub.Take()
	if len(rounds) != 0 || reasonOf(err) != ReasonLagging {
		t.Fatalf("slow subscription: %d rounds, err %v; want none and %s", len(rounds), err, ReasonLagging)
	}
	if e, _ := defender.AsError(err); e.Kind != defender.KindResourceExhausted {
		t.Errorf("kind %v; want ResourceExhausted", e.Kind)
	}
	b.put(inc("e", -1, 5))
	fast.waitEvents(t, 5)
	if fast.err != nil {
		t.Errorf("fast subscription ended with %v", fast.err)
	}
	if rounds, err := slow.sub.Take(); len(rounds) != 0 || reasonOf(err) != ReasonLagging {
		t.Errorf("slow subscription got %d rounds after it lagged, err %v", len(rounds), err)
	}
}

// TestSubscribeMaxWatchers: past MaxWatchers a subscription is refused
// with TOO_MANY_WATCHERS; leaving, or a catch-up that fails, frees a place.
func TestSubscribeMaxWatchers(t *testing.T) {
	f := newTestHub(t, func(o *Options) { o.MaxWatchers = 2 })
	b := newFake()
	r1 := subscribe(t, f.hub, testKey, b, time.Time{})
	subscribe(t, f.hub, keyOf("t2"), newFake(), time.Time{})
	_, err := f.hub.Subscribe(context.Background(), testKey, Source{Backend: b}, time.Time{})
	if e, ok := defender.AsError(err); !ok || e.Kind != defender.KindResourceExhausted || e.Reason != ReasonTooMany {
		t.Fatalf("third Subscribe: %v; want %s", err, ReasonTooMany)
	}
	if got := f.hub.Watchers(); got != 2 {
		t.Errorf("Watchers() = %d; want 2", got)
	}
	r1.sub.Close()
	since := at(-30)
	boom := defender.Errorf(defender.KindPermissionDenied, "BOOM", "refused")
	b.setListErr(func(q defender.ListQuery) error {
		if q.Filter.UpdatedFrom.Equal(since.Add(-testTiming.Overlap)) {
			return boom
		}
		return nil
	})
	if _, err := f.hub.Subscribe(context.Background(), testKey, Source{Backend: b}, since); !errors.Is(err, boom) {
		t.Fatalf("Subscribe with a failing catch-up: %v; want %v", err, boom)
	}
	if got := f.hub.Watchers(); got != 1 {
		t.Errorf("Watchers() = %d after a failed catch-up; want 1", got)
	}
	r := subscribe(t, f.hub, testKey, b, time.Time{})
	b.put(inc("a", -1, 0))
	r.waitEvents(t, 1)
}

// TestSubscribeSinceSlowLiveRound: when the live poller's next round reads
// from further back than the catch-up round's end (its interval is longer
// than the delay and the overlap), an incident the catch-up delivered is
// still not repeated.
func TestSubscribeSinceSlowLiveRound(t *testing.T) {
	f := newTestHub(t, func(o *Options) { o.Timing.Interval = 300 * time.Millisecond })
	b := newFake()
	plain := subscribe(t, f.hub, testKey, b, time.Time{})
	f.m.waitRounds(t, 1)
	// The clock runs on between two live rounds: the next one reads
	// from -15 on, the catch-up from 40 and ends at 95.
	f.clk.Set(at(100))
	b.put(inc("u", -200, 80))
	r := subscribe(t, f.hub, testKey, b, at(50))
	if n := f.m.allRounds(); n != 1 {
		t.Skipf("a live round ran during the set-up (%d rounds)", n)
	}
	plain.waitEvents(t, 1) // the live round read u
	f.m.waitRounds(t, 1)
	r.take()
	if diff := cmp.Diff([]string{"updated u@80"}, summary(r.events())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
