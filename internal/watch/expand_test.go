package watch

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/defender-gateway/gateway/internal/defender"
)

func withAlert(i defender.Incident) defender.Incident {
	i.Alerts = []defender.Alert{{ID: "alert-of-" + i.ID}}
	return i
}

// TestExpandFallback: listing with alerts that fails upstream (5xx, or a
// body that does not decode) falls back to listing without them and
// reading each changed incident with its alerts; any other failure is the
// round's.
func TestExpandFallback(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		wantFallback bool
	}{
		{"5xx", upstream500(), true},
		{"502 after retries", &defender.Error{Kind: defender.KindUnavailable, UpstreamStatus: 502}, true},
		{"a body that does not decode", &defender.Error{Kind: defender.KindInternal, UpstreamStatus: 200}, true},
		{"throttled", &defender.Error{Kind: defender.KindThrottled, UpstreamStatus: 429}, false},
		{"no upstream answer", &defender.Error{Kind: defender.KindUnavailable}, false},
		{"permission denied", &defender.Error{Kind: defender.KindPermissionDenied, UpstreamStatus: 403}, false},
		{"bad request", &defender.Error{Kind: defender.KindInvalidArgument, UpstreamStatus: 400}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newFake(withAlert(inc("a", -100, 1)), withAlert(inc("b", 2, 2)))
			b.setListErr(func(q defender.ListQuery) error {
				if q.WithAlerts {
					return tt.err
				}
				return nil
			})
			var fellBack []error
			p := &poller{timing: testTiming, withAlerts: true, now: newClock(at(5)).Now, onFallback: func(err error) { fellBack = append(fellBack, err) }}
			r, _, err := p.round(context.Background(), b, State{Watermark: at(0)})
			c := b.counts()
			if !tt.wantFallback {
				if err != tt.err {
					t.Fatalf("err = %v; want the listing's %v", err, tt.err)
				}
				if c != (counts{lists: 1, listsWithAlerts: 1}) || len(fellBack) != 0 {
					t.Errorf("calls %+v, fallbacks %d; want one list with alerts and no fallback", c, len(fellBack))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c != (counts{lists: 2, listsWithAlerts: 1, gets: 2}) {
				t.Errorf("calls %+v; want a list with alerts, one without, and a read per changed incident", c)
			}
			if len(fellBack) != 1 || fellBack[0] != tt.err {
				t.Errorf("onFallback got %v; want once with the listing's error", fellBack)
			}
			var alerts []string
			for _, ev := range r.Events {
				for _, a := range ev.Incident.Alerts {
					alerts = append(alerts, a.ID)
				}
			}
			if diff := cmp.Diff([]string{"alert-of-a", "alert-of-b"}, alerts); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExpandRetry: after a fallback, rounds list without alerts (reading
// only the changed incidents) until ExpandRetry passed, then try again.
func TestExpandRetry(t *testing.T) {
	b := newFake(withAlert(inc("a", -100, 1)))
	b.setListErr(func(q defender.ListQuery) error {
		if q.WithAlerts {
			return upstream500()
		}
		return nil
	})
	clk := newClock(at(5))
	p := &poller{timing: testTiming, withAlerts: true, now: clk.Now}
	type round struct {
		advance time.Duration
		put     []defender.Incident
		heal    bool
		want    counts // calls made by the round
		alerts  []string
	}
	rounds := []round{
		{want: counts{lists: 2, listsWithAlerts: 1, gets: 1}, alerts: []string{"a"}},
		// Nothing changed: no per-incident read.
		{advance: time.Second, want: counts{lists: 1}},
		{advance: time.Second, put: []defender.Incident{withAlert(inc("b", 6, 7))}, want: counts{lists: 1, gets: 1}, alerts: []string{"b"}},
		// Healed, but the retry time has not passed: still without.
		{advance: 30 * time.Second, heal: true, want: counts{lists: 1}},
		// At 1m4s, a second short of ExpandRetry after the fallback at 5s: without.
		{advance: 27 * time.Second, want: counts{lists: 1}},
		// At 1m5s: with alerts again.
		{advance: time.Second, put: []defender.Incident{withAlert(inc("c", 60, 60))}, want: counts{lists: 1, listsWithAlerts: 1}, alerts: []string{"c"}},
		{advance: time.Second, want: counts{lists: 1, listsWithAlerts: 1}},
	}
	st := State{Watermark: at(0)}
	for i, r := range rounds {
		clk.Advance(r.advance)
		b.put(r.put...)
		if r.heal {
			b.setListErr(nil)
		}
		before := b.counts()
		got, next, err := p.round(context.Background(), b, st)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		after := b.counts()
		delta := counts{after.lists - before.lists, after.listsWithAlerts - before.listsWithAlerts, after.gets - before.gets}
		if delta != r.want {
			t.Errorf("round %d (at %v): calls %+v; want %+v", i, clk.Now().Sub(t0), delta, r.want)
		}
		var withAlerts []string
		for _, ev := range got.Events {
			if len(ev.Incident.Alerts) == 1 {
				withAlerts = append(withAlerts, ev.Incident.ID)
			}
		}
		if diff := cmp.Diff(r.alerts, withAlerts); diff != "" || len(got.Events) != len(r.alerts) {
			t.Errorf("round %d: events %v with alerts (-want +got):\n%s", i, summary(got.Events), diff)
		}
		st = next
	}
}

// TestExpandFallbackReads: during a fallback an incident gone since the
// listing is delivered without alerts, and a redirect's target is read with
// alerts when the view has them.
func TestExpandFallbackReads(t *testing.T) {
	m := inc("m", -100, 2)
	m.Status, m.RedirectIncidentID = defender.StatusRedirected, "t"
	b := newFake(withAlert(inc("a", -100, 1)), m, withAlert(inc("t", -100, -50)))
	b.setListErr(func(q defender.ListQuery) error {
		if q.WithAlerts {
			return upstream500()
		}
		return nil
	})
	b.setGetErr(func(id string, _ bool) error {
		if id == "a" {
			return defender.Errorf(defender.KindNotFound, "", "gone")
		}
		return nil
	})
	p := &poller{timing: testTiming, withAlerts: true, now: newClock(at(5)).Now}
	r, _, err := p.round(context.Background(), b, State{Watermark: at(0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Events) != 2 || r.Events[0].Incident.ID != "a" || r.Events[0].Incident.Alerts != nil {
		t.Fatalf("events %v; want a first, without alerts", summary(r.Events))
	}
	if tg := r.Events[1].Target; tg == nil || tg.ID != "t" || len(tg.Alerts) != 1 {
		t.Errorf("target %+v; want t read with its alerts", tg)
	}
}

// TestNoAlertsView: a poller whose view has no alerts never asks for them.
func TestNoAlertsView(t *testing.T) {
	b := newFake(withAlert(inc("a", -100, 1)))
	p := &poller{timing: testTiming, now: newClock(at(5)).Now}
	r, _, err := p.round(context.Background(), b, State{Watermark: at(0)})
	if err != nil {
		t.Fatal(err)
	}
	if c := b.counts(); c != (counts{lists: 1}) {
		t.Errorf("calls %+v; want one list without alerts", c)
	}
	if len(r.Events) != 1 || r.Events[0].Incident.Alerts != nil {
		t.Errorf("events %+v", r.Events)
	}
}

// TestRedirectTargetReadFails: a redirect whose target cannot be read
// (any failure) carries only the target's id, and the round goes on; only
// the round's own end (its context) fails it.
func TestRedirectTargetReadFails(t *testing.T) {
	m := inc("m", -100, 2)
	m.Status, m.RedirectIncidentID = defender.StatusRedirected, "t"
	for _, tt := range []struct {
		name    string
		err     error
		cancel  bool
		wantErr bool
	}{
		{name: "unavailable", err: upstream500()},
		{name: "throttled", err: &defender.Error{Kind: defender.KindThrottled, UpstreamStatus: 429}},
		{name: "permission denied", err: &defender.Error{Kind: defender.KindPermissionDenied, UpstreamStatus: 403}},
		{name: "the round's context ended", err: defender.Errorf(defender.KindCanceled, "", "canceled"), cancel: true, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newFake(m, inc("t", -200, -50))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.setGetErr(func(string, bool) error {
				if tt.cancel {
					cancel()
				}
				return tt.err
			})
			p := &poller{timing: testTiming, now: newClock(at(5)).Now}
			r, _, err := p.round(ctx, b, State{Watermark: at(0)})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("round succeeded with events %v; want its context's end", summary(r.Events))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{`redirected m@2 -> t("")`}, summary(r.Events)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}
