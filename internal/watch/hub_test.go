package watch

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/defender-gateway/gateway/internal/defender"
)

// TestHubOnePollerPerKey: any number of subscriptions on one key are served
// by one poller, whose upstream calls are one per round; every subscription
// gets every change once; the last one out stops the poller.
func TestHubOnePollerPerKey(t *testing.T) {
	for _, n := range []int{1, 5, 50} {
		t.Run("", func(t *testing.T) {
			f := newTestHub(t, nil)
			b := newFake()
			var rs []*reader
			for range n {
				rs = append(rs, subscribe(t, f.hub, testKey, b, time.Time{}))
			}
			f.m.waitRounds(t, 3)
			b.put(inc("a", -1, 0))
			for _, r := range rs {
				r.waitEvents(t, 1)
			}
			f.m.waitRounds(t, 3)
			for i, r := range rs {
				r.take()
				if diff := cmp.Diff([]string{"created a@0"}, summary(r.events())); diff != "" || r.err != nil {
					t.Errorf("subscription %d: err %v, events (-want +got):\n%s", i, r.err, diff)
				}
			}
			if got := f.hub.Watchers(); got != n {
				t.Errorf("Watchers() = %d; want %d", got, n)
			}
			for i, r := range rs {
				r.sub.Close()
				r.sub.Close() // twice is fine
				if started, stopped := f.m.pollers(); i < n-1 && stopped != 0 {
					t.Fatalf("the poller stopped (%d/%d) with %d subscriptions left", stopped, started, n-1-i)
				}
			}
			eventually(t, "the poller to stop", func() bool { _, stopped := f.m.pollers(); return stopped == 1 })
			lists := b.counts().lists
			if started, _ := f.m.pollers(); started != 1 {
				t.Errorf("%d pollers started; want 1", started)
			}
			if rounds := f.m.allRounds(); lists != rounds {
				t.Errorf("%d list calls for %d rounds; want one a round", lists, rounds)
			}
			if got := f.hub.Watchers(); got != 0 {
				t.Errorf("Watchers() = %d after the last Close", got)
			}
			f.hub.Close()
			if got := b.counts().lists; got != lists {
				t.Errorf("%d list calls after the poller stopped", got-lists)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.notFresh != 0 {
				t.Errorf("%d upstream calls without WithFreshRead", b.notFresh)
			}
		})
	}
}

// TestHubKeys: each key has its own poller, reading its own source.
func TestHubKeys(t *testing.T) {
	f := newTestHub(t, nil)
	alerts := testKey
	alerts.Alerts = true
	other := keyOf("t2")
	user := testKey
	user.Identity = "user@example.com"
	keys := []Key{testKey, alerts, other, user}
	var rs []*reader
	var bs []*fakeBackend
	for _, k := range keys {
		b := newFake()
		bs = append(bs, b)
		rs = append(rs, subscribe(t, f.hub, k, b, time.Time{}), subscribe(t, f.hub, k, b, time.Time{}))
	}
	// A change made before a subscription is not promised to it: change
	// once every poller ran a round.
	f.m.waitRounds(t, 2*len(keys))
	for i, k := range keys {
		bs[i].put(inc(k.ID(), -1, float64(i)))
	}
	for i, r := range rs {
		r.waitEvents(t, 1)
		if got := r.events()[0].Incident.ID; got != keys[i/2].ID() {
			t.Errorf("subscription %d of key %d got %s", i%2, i/2, got)
		}
	}
	if started, _ := f.m.pollers(); started != len(keys) {
		t.Errorf("%d pollers started for %d keys", started, len(keys))
	}
	for i, b := range bs {
		if b.counts().lists == 0 {
			t.Errorf("key %d's backend was never listed", i)
		}
	}
	// A key's last subscription out stops its poller only.
	rs[0].sub.Close()
	rs[1].sub.Close()
	eventually(t, "the first key's poller to stop", func() bool { _, stopped := f.m.pollers(); return stopped == 1 })
	bs[3].put(inc("later", -1, 5))
	rs[7].waitFor(t, "a later change", func(r *reader) bool { return len(r.events()) == 2 })
}

// TestHubSource: rounds use the newest watcher's source, with its values
// but not its cancellation, and always read fresh.
func TestHubSource(t *testing.T) {
	f := newTestHub(t, nil)
	b := newFake()
	ctx1, cancel1 := context.WithCancel(context.WithValue(context.Background(), valueKey{}, "first"))
	sub1, err := f.hub.Subscribe(ctx1, testKey, Source{Backend: b, Values: ctx1}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub1.Close()
	f.m.waitRounds(t, 2)
	ctx2, cancel2 := context.WithCancel(context.WithValue(context.Background(), valueKey{}, "second"))
	sub2, err := f.hub.Subscribe(ctx2, testKey, Source{Backend: b, Values: ctx2}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	f.m.waitRounds(t, 2)
	cancel1()
	cancel2()
	f.m.waitRounds(t, 3)
	if n := f.m.rounds("error"); n != 0 {
		t.Errorf("%d rounds failed after the watchers' contexts ended", n)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.values[0] != "first" || b.values[len(b.values)-1] != "second" {
		t.Errorf("rounds ran with values %v; want the first watcher's, then the newest's", b.values)
	}
	if b.notFresh != 0 {
		t.Errorf("%d upstream calls without WithFreshRead", b.notFresh)
	}
}

// TestHubPollerErrors: a failure retrying cannot fix ends every
// subscription of the key with it, and the next subscription starts a new
// poller; any other is retried at the next interval, keeping the feed.
func TestHubPollerErrors(t *testing.T) {
	tests := []struct {
		kind      defender.ErrorKind
		permanent bool
		name      string
	}{
		{defender.KindPermissionDenied, true, "PermissionDenied"},
		{defender.KindUnauthenticated, true, "Unauthenticated"},
		{defender.KindUpstreamAuth, true, "UpstreamAuth"},
		{defender.KindInvalidArgument, true, "InvalidArgument"},
		{defender.KindNotFound, true, "NotFound"},
		{defender.KindFailedPrecondition, true, "FailedPrecondition"},
		{defender.KindUnimplemented, true, "Unimplemented"},
		{defender.KindThrottled, false, "Throttled"},
		{defender.KindUnavailable, false, "Unavailable"},
		{defender.KindDeadlineExceeded, false, "DeadlineExceeded"},
		{defender.KindInternal, false, "Internal"},
		{defender.KindResourceExhausted, false, "ResourceExhausted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTestHub(t, nil)
			b := newFake()
			other := newFake()
			r1, r2 := subscribe(t, f.hub, testKey, b, time.Time{}), subscribe(t, f.hub, testKey, b, time.Time{})
			unrelated := subscribe(t, f.hub, keyOf("t2"), other, time.Time{})
			boom := defender.Errorf(tt.kind, "BOOM", "upstream refused")
			b.setListErr(func(defender.ListQuery) error { return boom })
			if tt.permanent {
				for _, r := range []*reader{r1, r2} {
					r.waitFor(t, "the error", func(r *reader) bool { return r.err != nil })
					if !errors.Is(r.err, boom) {
						t.Errorf("subscription ended with %v; want %v", r.err, boom)
					}
				}
				eventually(t, "the poller to stop", func() bool { _, stopped := f.m.pollers(); return stopped == 1 })
				b.setListErr(nil)
				r3 := subscribe(t, f.hub, testKey, b, time.Time{})
				b.put(inc("a", -1, 0))
				r3.waitEvents(t, 1)
				if r3.err != nil {
					t.Errorf("the new subscription ended: %v", r3.err)
				}
			} else {
				// The metrics tell a throttled round from another failure.
				outcome := "error"
				if tt.kind == defender.KindThrottled {
					outcome = "throttled"
				}
				eventually(t, outcome+" rounds", func() bool { return f.m.rounds(outcome) >= 3 })
				b.setListErr(nil)
				b.put(inc("a", -1, 0))
				for _, r := range []*reader{r1, r2} {
					r.waitEvents(t, 1)
					if r.err != nil {
						t.Errorf("subscription ended with %v", r.err)
					}
				}
			}
			other.put(inc("o", -1, 0))
			unrelated.waitEvents(t, 1)
			if unrelated.err != nil {
				t.Errorf("another key's subscription ended with %v", unrelated.err)
			}
			// Every poller started has now run a round: one per key, and a
			// second for the key after a permanent failure.
			wantStarted, wantStopped := 2, 0
			if tt.permanent {
				wantStarted, wantStopped = 3, 1
			}
			if started, stopped := f.m.pollers(); started != wantStarted || stopped != wantStopped {
				t.Errorf("pollers started %d, stopped %d; want %d, %d", started, stopped, wantStarted, wantStopped)
			}
		})
	}
}

// TestHubClose: Close ends every subscription with ErrClosed, stops every
// poller before it returns, and refuses new subscriptions.
func TestHubClose(t *testing.T) {
	f := newTestHub(t, nil)
	b1, b2 := newFake(), newFake()
	rs := []*reader{subscribe(t, f.hub, testKey, b1, time.Time{}), subscribe(t, f.hub, testKey, b1, time.Time{}), subscribe(t, f.hub, keyOf("t2"), b2, time.Time{})}
	f.m.waitRounds(t, 2)
	b1.put(inc("a", -1, 0))
	rs[0].waitEvents(t, 1)
	f.hub.Close()
	if started, stopped := f.m.pollers(); started != 2 || stopped != 2 {
		t.Errorf("after Close: %d pollers started, %d stopped", started, stopped)
	}
	lists := b1.counts().lists + b2.counts().lists
	for i, r := range rs {
		r.waitFor(t, "ErrClosed", func(r *reader) bool { return r.err != nil })
		if !errors.Is(r.err, ErrClosed) {
			t.Errorf("subscription %d ended with %v; want ErrClosed", i, r.err)
		}
	}
	if _, err := f.hub.Subscribe(context.Background(), testKey, Source{Backend: b1}, time.Time{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: %v; want ErrClosed", err)
	}
	for _, r := range rs {
		r.sub.Close()
	}
	if got := f.hub.Watchers(); got != 0 {
		t.Errorf("Watchers() = %d", got)
	}
	if got := b1.counts().lists + b2.counts().lists; got != lists {
		t.Errorf("%d list calls after Close returned", got-lists)
	}
}

// TestHubFallbackRounds: a feed whose listing with alerts fails upstream
// goes on delivering changes with their alerts, and its rounds count as
// fallback rounds.
func TestHubFallbackRounds(t *testing.T) {
	f := newTestHub(t, nil)
	b := newFake()
	b.setListErr(func(q defender.ListQuery) error {
		if q.WithAlerts {
			return upstream500()
		}
		return nil
	})
	key := testKey
	key.Alerts = true
	r := subscribe(t, f.hub, key, b, time.Time{})
	f.m.waitRounds(t, 1)
	b.put(withAlert(inc("a", -1, 0)))
	r.waitEvents(t, 1)
	if ev := r.events()[0]; len(ev.Incident.Alerts) != 1 {
		t.Errorf("event %v without its alerts", summary(r.events()))
	}
	if n := f.m.rounds("fallback"); n == 0 {
		t.Errorf("no fallback round counted of %d", f.m.allRounds())
	}
	if c := b.counts(); c.listsWithAlerts != 1 {
		t.Errorf("%d listings with alerts; want 1 within ExpandRetry", c.listsWithAlerts)
	}
}
