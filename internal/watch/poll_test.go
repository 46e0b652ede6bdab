package watch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/defender-gateway/gateway/internal/defender"
)

var kindNames = map[Kind]string{KindUnspecified: "?", Created: "created", Updated: "updated", Redirected: "redirected"}

// summary writes events as "kind id@seconds-after-t0".
func summary(events []Event) []string {
	var out []string
	for _, ev := range events {
		s := fmt.Sprintf("%s %s@%g", kindNames[ev.Kind], ev.Incident.ID, ev.Incident.UpdateTime.Sub(t0).Seconds())
		if ev.Target != nil {
			s += fmt.Sprintf(" -> %s(%q)", ev.Target.ID, ev.Target.DisplayName)
		}
		out = append(out, s)
	}
	return out
}

func seenIDs(st State) []string { return slices.Sorted(maps.Keys(st.Seen)) }

var testTiming = Timing{Interval: 10 * time.Millisecond, Overlap: 10 * time.Second, Delay: 5 * time.Second, ExpandRetry: time.Minute}

// step is one round of a poller scenario: the upstream changes put before
// it, the clock at it, and what it must find.
type step struct {
	put []defender.Incident
	// now is the round's clock, in seconds after t0.
	now           float64
	want          []string
	wantFrom      float64 // the listing's UpdatedFrom
	wantWatermark float64
	wantSeen      []string // nil: not checked
}

func TestPollerRounds(t *testing.T) {
	redirected := inc("m", -100, 12)
	redirected.Status, redirected.RedirectIncidentID = defender.StatusRedirected, "target"
	target := inc("target", -200, -50)
	target.DisplayName = "the merged incident"
	lost := inc("l", -100, 12)
	lost.Status, lost.RedirectIncidentID = defender.StatusRedirected, "gone"

	tests := []struct {
		name      string
		precision time.Duration
		initial   []defender.Incident
		steps     []step
	}{
		{
			name: "the watermark trails the clock by the delay and never goes back",
			steps: []step{
				{now: 0, wantFrom: -15, wantWatermark: -5},
				{now: 20, wantFrom: -15, wantWatermark: 15},
				{now: 30, wantFrom: 5, wantWatermark: 25},
				// The clock went back: the watermark stays.
				{now: 10, wantFrom: 15, wantWatermark: 25},
				{now: 31, wantFrom: 15, wantWatermark: 26},
			},
		},
		{
			name: "a re-read version is not repeated, a newer one is",
			steps: []step{
				{now: 0, wantFrom: -15, wantWatermark: -5},
				{put: []defender.Incident{inc("a", -100, 1)}, now: 2, wantFrom: -15, wantWatermark: -3, want: []string{"updated a@1"}, wantSeen: []string{"a"}},
				{now: 4, wantFrom: -13, wantWatermark: -1},
				{put: []defender.Incident{inc("a", -100, 3)}, now: 6, wantFrom: -11, wantWatermark: 1, want: []string{"updated a@3"}},
				{now: 8, wantFrom: -9, wantWatermark: 3},
			},
		},
		{
			name: "created only when unseen and created at or after the round's lower bound",
			steps: []step{
				{now: 0, wantFrom: -15, wantWatermark: -5},
				{
					put: []defender.Incident{inc("new", 1, 1), inc("edge", -15, 1), inc("old", -15.5, 1)},
					now: 2, wantFrom: -15, wantWatermark: -3,
					want: []string{"created edge@1", "created new@1", "updated old@1"},
				},
				{put: []defender.Incident{inc("new", 1, 3)}, now: 4, wantFrom: -13, wantWatermark: -1, want: []string{"updated new@3"}},
			},
		},
		{
			name:    "redirected with its target read, or only its id when the read fails",
			initial: []defender.Incident{target},
			steps: []step{
				{now: 10, wantFrom: -5, wantWatermark: 5},
				{
					put: []defender.Incident{redirected, lost}, now: 14, wantFrom: -5, wantWatermark: 9,
					want: []string{`redirected l@12 -> gone("")`, `redirected m@12 -> target("the merged incident")`},
				},
			},
		},
		{
			name: "changes at the same timestamp on different incidents are all delivered, across rounds",
			steps: []step{
				{now: 0, wantFrom: -15, wantWatermark: -5},
				{put: []defender.Incident{inc("a", -100, 1), inc("b", -100, 1)}, now: 2, wantFrom: -15, wantWatermark: -3, want: []string{"updated a@1", "updated b@1"}},
				// c changed in the same instant, and the upstream lists it late.
				{put: []defender.Incident{inc("c", -100, 1)}, now: 3, wantFrom: -13, wantWatermark: -2, want: []string{"updated c@1"}},
				{now: 4, wantFrom: -12, wantWatermark: -1},
			},
		},
		{
			name:      "an upstream that filters coarser than asked does not re-deliver what is older than the bound",
			precision: time.Minute,
			initial:   []defender.Incident{inc("a", -100, 1)},
			steps: []step{
				{now: 2, wantFrom: -13, wantWatermark: -3, want: []string{"updated a@1"}},
				// a is read again (the upstream truncates the bound to the
				// minute) but is older than the round's lower bound, and
				// pruned from the seen set: it is not delivered again.
				{now: 40, wantFrom: -13, wantWatermark: 35, wantSeen: []string{}},
				{now: 50, wantFrom: 25, wantWatermark: 45, wantSeen: []string{}},
			},
		},
		{
			name:    "the seen set forgets what no later round reads",
			initial: []defender.Incident{inc("a", -100, 1)},
			steps: []step{
				{now: 2, wantFrom: -13, wantWatermark: -3, want: []string{"updated a@1"}, wantSeen: []string{"a"}},
				// The next round reads from 16-10 = 6: a (1) is below it.
				{put: []defender.Incident{inc("b", -100, 20)}, now: 21, wantFrom: -13, wantWatermark: 16, want: []string{"updated b@20"}, wantSeen: []string{"b"}},
				{now: 26, wantFrom: 6, wantWatermark: 21, wantSeen: []string{"b"}},
				// b at 20 is exactly at the next bound: still kept.
				{now: 35, wantFrom: 11, wantWatermark: 30, wantSeen: []string{"b"}},
				{now: 35, wantFrom: 20, wantWatermark: 30, wantSeen: []string{"b"}},
				{now: 35.5, wantFrom: 20, wantWatermark: 30.5, wantSeen: []string{}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			b := newFake(tt.initial...)
			b.precision = tt.precision
			p := &poller{timing: testTiming, now: clk.Now}
			var st State
			for i, s := range tt.steps {
				b.put(s.put...)
				clk.Set(at(s.now))
				r, next, err := p.round(context.Background(), b, st)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if diff := cmp.Diff(s.want, summary(r.Events)); diff != "" {
					t.Errorf("step %d: events (-want +got):\n%s", i, diff)
				}
				if got := b.lastFrom(); !got.Equal(at(s.wantFrom)) {
					t.Errorf("step %d: listed from %v; want %v", i, got.Sub(t0), at(s.wantFrom).Sub(t0))
				}
				if !next.Watermark.Equal(at(s.wantWatermark)) || !r.After.Equal(next.Watermark) {
					t.Errorf("step %d: watermark %v, round after %v; want %v", i, next.Watermark.Sub(t0), r.After.Sub(t0), at(s.wantWatermark).Sub(t0))
				}
				if i > 0 && !r.From.Equal(st.Watermark) {
					t.Errorf("step %d: round from %v; want the previous watermark %v", i, r.From.Sub(t0), st.Watermark.Sub(t0))
				}
				if s.wantSeen != nil {
					if diff := cmp.Diff(s.wantSeen, seenIDs(next), cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
						t.Errorf("step %d: seen (-want +got):\n%s", i, diff)
					}
				}
				st = next
			}
		})
	}
}

// TestPollerRoundOrder: a round's events come oldest update first (ties by
// id), whatever order the upstream lists them in, and every page is read.
func TestPollerRoundOrder(t *testing.T) {
	b := newFake()
	b.maxPage = 7
	var want []string
	for i := range 40 {
		u := float64(40 - i/2) // two incidents per second, newest first by id
		b.put(inc(fmt.Sprintf("i%02d", i), -100, u))
	}
	for s := 21; s <= 40; s++ {
		var ids []string
		for i := range 40 {
			if float64(40-i/2) == float64(s) {
				ids = append(ids, fmt.Sprintf("i%02d", i))
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			want = append(want, fmt.Sprintf("updated %s@%d", id, s))
		}
	}
	clk := newClock(at(41))
	p := &poller{timing: Timing{Overlap: time.Minute}, now: clk.Now}
	r, _, err := p.round(context.Background(), b, State{Watermark: at(0)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, summary(r.Events)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if got, wantLists := b.counts().lists, 6; got != wantLists { // 40 incidents, 7 a page
		t.Errorf("%d list calls; want %d", got, wantLists)
	}
}

// TestPollerFailedRound: a round that fails, on any page or while it
// completes its events, returns its error and the state it was given, and
// the next round finds what it would have.
func TestPollerFailedRound(t *testing.T) {
	boom := defender.Errorf(defender.KindUnavailable, "UPSTREAM_UNAVAILABLE", "upstream failed")
	tests := []struct {
		name   string
		alerts bool
		break_ func(b *fakeBackend)
	}{
		{"first page", false, func(b *fakeBackend) {
			b.setListErr(func(defender.ListQuery) error { return boom })
		}},
		{"a later page", false, func(b *fakeBackend) {
			b.setListErr(func(q defender.ListQuery) error {
				if q.Cursor != "" {
					return boom
				}
				return nil
			})
		}},
		{"reading an incident's alerts after the fallback", true, func(b *fakeBackend) {
			b.setListErr(func(q defender.ListQuery) error {
				if q.WithAlerts {
					return upstream500()
				}
				return nil
			})
			b.setGetErr(func(string, bool) error { return boom })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newFake(inc("a", -100, 1), inc("b", -100, 2), inc("c", 3, 3))
			b.maxPage = 2
			clk := newClock(at(10))
			p := &poller{timing: testTiming, withAlerts: tt.alerts, now: clk.Now}
			st := State{Watermark: at(0), Seen: map[string]time.Time{"a": at(1)}}
			before := State{Watermark: st.Watermark, Seen: maps.Clone(st.Seen)}
			tt.break_(b)
			r, next, err := p.round(context.Background(), b, st)
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v; want %v", err, boom)
			}
			if len(r.Events) != 0 {
				t.Errorf("failed round has events %v", summary(r.Events))
			}
			if diff := cmp.Diff(before, next); diff != "" {
				t.Errorf("state after a failed round (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, st); diff != "" {
				t.Errorf("the given state changed (-want +got):\n%s", diff)
			}
			b.setListErr(nil)
			b.setGetErr(nil)
			p.noExpandTil = time.Time{}
			r, next, err = p.round(context.Background(), b, next)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"updated b@2", "created c@3"}, summary(r.Events)); diff != "" {
				t.Errorf("next round's events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPollerRoundTooLarge(t *testing.T) {
	b := newFake()
	b.endless = true
	p := &poller{timing: testTiming, now: newClock(t0).Now}
	st := State{Watermark: at(-1)}
	_, next, err := p.round(context.Background(), b, st)
	e, ok := defender.AsError(err)
	if !ok || e.Kind != defender.KindResourceExhausted || e.Reason != "WATCH_ROUND_TOO_LARGE" {
		t.Fatalf("err = %v; want WATCH_ROUND_TOO_LARGE", err)
	}
	if !next.Watermark.Equal(st.Watermark) {
		t.Errorf("watermark moved to %v", next.Watermark)
	}
	// It stops at the first page past the bound.
	if got, want := b.counts().lists, maxRoundIncidents/listPageSize+1; got != want {
		t.Errorf("%d list calls; want %d", got, want)
	}
}
