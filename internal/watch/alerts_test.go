package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/defender-gateway/gateway/internal/defender"
)

// fakeAlerts lists alerts updated at or after the query's UpdatedFrom, in
// pages of two; its incident calls fail the test.
type fakeAlerts struct {
	defender.Backend
	t *testing.T

	mu     sync.Mutex
	alerts map[string]defender.Alert
	froms  []time.Time
}

func (f *fakeAlerts) Kind() defender.BackendKind { return defender.BackendGraph }

func (f *fakeAlerts) put(as ...defender.Alert) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range as {
		f.alerts[a.ID] = a
	}
}

func (f *fakeAlerts) ListAlerts(_ context.Context, q defender.AlertListQuery) (*defender.AlertPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if q.Cursor == "" {
		f.froms = append(f.froms, q.Filter.UpdatedFrom)
	}
	var all []defender.Alert
	for _, a := range f.alerts {
		if !a.UpdateTime.Before(q.Filter.UpdatedFrom) {
			all = append(all, a)
		}
	}
	slices.SortFunc(all, func(a, b defender.Alert) int { return strings.Compare(a.ID, b.ID) })
	start := 0
	if q.Cursor != "" {
		fmt.Sscan(q.Cursor, &start)
	}
	end := min(start+2, len(all))
	page := &defender.AlertPage{Alerts: all[start:end]}
	if end < len(all) {
		page.NextCursor = fmt.Sprint(end)
	}
	return page, nil
}

func (f *fakeAlerts) ListIncidents(context.Context, defender.ListQuery) (*defender.IncidentPage, error) {
	f.t.Error("an alert poller listed incidents")
	return nil, nil
}

func alert(id string, c, u float64) defender.Alert {
	return defender.Alert{ID: id, Status: defender.AlertStatusNew, CreateTime: at(c), UpdateTime: at(u)}
}

func alertSummary(events []Event) []string {
	var out []string
	for _, ev := range events {
		if ev.Alert == nil {
			out = append(out, "not an alert: "+ev.Incident.ID)
			continue
		}
		out = append(out, fmt.Sprintf("%s %s@%g", kindNames[ev.Kind], ev.ID(), ev.UpdateTime().Sub(t0).Seconds()))
	}
	return out
}

func TestPollerAlertRounds(t *testing.T) {
	f := &fakeAlerts{t: t, alerts: map[string]defender.Alert{}}
	clk := newClock(at(0))
	p := &poller{timing: testTiming, subject: AlertsSubject, now: clk.Now}
	steps := []struct {
		put  []defender.Alert
		now  float64
		want []string
	}{
		{now: 0},
		{put: []defender.Alert{alert("a", 1, 1), alert("b", -100, 2), alert("c", -100, 3)}, now: 10,
			want: []string{"created a@1", "updated b@2", "updated c@3"}},
		// Re-read inside the overlap: nothing repeats; a newer version does.
		{put: []defender.Alert{alert("b", -100, 8)}, now: 14, want: []string{"updated b@8"}},
		{now: 16},
	}
	var st State
	for i, s := range steps {
		f.put(s.put...)
		clk.Set(at(s.now))
		r, next, err := p.round(context.Background(), f, st)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if diff := cmp.Diff(s.want, alertSummary(r.Events)); diff != "" {
			t.Errorf("round %d events (-want +got):\n%s", i, diff)
		}
		st = next
	}
	wantFroms := []time.Time{at(-15), at(-15), at(-5), at(-1)}
	if diff := cmp.Diff(wantFroms, f.froms); diff != "" {
		t.Errorf("UpdatedFrom of the rounds (-want +got):\n%s", diff)
	}
}

func TestKeyIDAlertNamespace(t *testing.T) {
	inc := Key{Tenant: "contoso", Context: "default", Backend: defender.BackendGraph}
	al := inc
	al.Subject = AlertsSubject
	if inc.ID() == al.ID() {
		t.Fatal("an alert key shares its incident key's ID")
	}
	// The incident keys keep their IDs across releases (a rolling deploy
	// shares the pollers of both).
	if got, want := inc.ID(), (Key{Tenant: "contoso", Context: "default", Backend: defender.BackendGraph}).ID(); got != want {
		t.Fatalf("ID not stable: %s != %s", got, want)
	}
}

func TestHubAlertSubscription(t *testing.T) {
	fx := newTestHub(t, nil)
	f := &fakeAlerts{t: t, alerts: map[string]defender.Alert{}}
	key := keyOf("contoso")
	key.Subject = AlertsSubject
	r := subscribe(t, fx.hub, key, f, time.Time{})
	f.put(alert("x", -1, -1))
	r.waitEvents(t, 1)
	if got := alertSummary(r.events()); !cmp.Equal(got, []string{"created x@-1"}) {
		t.Fatalf("events = %v, want created x@-1", got)
	}
	// A resumed subscription catches up from its since with the alerts.
	resumed := subscribe(t, fx.hub, key, f, at(-20))
	resumed.waitEvents(t, 1)
	if got := alertSummary(resumed.events()); !cmp.Equal(got, []string{"created x@-1"}) {
		t.Fatalf("resumed events = %v, want created x@-1", got)
	}
	if started, _ := fx.m.pollers(); started != 1 {
		t.Fatalf("%d pollers started, want 1", started)
	}
}

// TestAlertRoundJSON: an alert round survives the shared store's JSON.
func TestAlertRoundJSON(t *testing.T) {
	a := alert("x", 1, 2)
	a.Comments = []defender.Comment{{Text: "seen", Author: "portal", CreateTime: at(2)}}
	r := Round{Events: []Event{{Kind: Updated, Alert: &a}}, From: at(0), After: at(3)}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got Round
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("round after JSON (-want +got):\n%s", diff)
	}
}
