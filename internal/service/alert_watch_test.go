package service

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/watch"
)

// alertWatchRecorder is watchRecorder for WatchAlerts.
type alertWatchRecorder struct {
	grpc.ServerStream
	ctx    context.Context
	cancel context.CancelFunc
	after  int
	sent   []*defenderv1.WatchAlertsResponse
}

func newAlertWatchRecorder(after int) *alertWatchRecorder {
	ctx, cancel := context.WithCancel(context.Background())
	return &alertWatchRecorder{ctx: ctx, cancel: cancel, after: after}
}

func (s *alertWatchRecorder) Context() context.Context { return s.ctx }
func (s *alertWatchRecorder) Send(m *defenderv1.WatchAlertsResponse) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	s.sent = append(s.sent, m)
	if len(s.sent) >= s.after {
		s.cancel()
	}
	return nil
}

// newAlertWatchServices returns an alert and an incident service on one
// hub over one fake clock, with one token key.
func newAlertWatchServices(t *testing.T, backend *fakeBackend) (*AlertService, *IncidentService, *syncClock) {
	t.Helper()
	now := &syncClock{t: baseTime}
	clock := now.now
	hub := watch.NewHub(watch.Options{Timing: watch.Timing{Interval: time.Hour, Overlap: time.Minute}, Now: clock})
	t.Cleanup(hub.Close)
	alerts := NewAlertService(fakeResolver{backend: backend}, testCodec(t, 1), nil, WithAlertWatch(hub, time.Hour, 24*time.Hour, 0))
	alerts.tokens.now = clock
	incidents := NewIncidentService(fakeResolver{backend: backend}, testCodec(t, 1), nil, WithWatch(hub, time.Hour, 24*time.Hour, 0))
	incidents.tokens.now = clock
	return alerts, incidents, now
}

// syncClock is a clock the test moves while pollers read it.
type syncClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *syncClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *syncClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// TestWatchAlertsCursors: a watch starts with a heartbeat whose cursor
// resumes it, delivering an alert changed since; a WatchIncidents cursor
// is refused on WatchAlerts and the reverse, naming `cursor`.
func TestWatchAlertsCursors(t *testing.T) {
	backend := newFakeBackend(2)
	svc, incidents, now := newAlertWatchServices(t, backend)
	rec := newAlertWatchRecorder(1)
	wantCode(t, svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/default"}, rec), codes.Canceled, "")
	if len(rec.sent) != 1 || rec.sent[0].GetHeartbeat() == nil || rec.sent[0].GetCursor() == "" {
		t.Fatalf("sent %v, want one heartbeat with a cursor", rec.sent)
	}
	cursor := rec.sent[0].GetCursor()

	// An alert changes after the cursor's position: the resumed watch
	// catches up with it.
	backend.mu.Lock()
	backend.incidents[1].Alerts[0].CreateTime = baseTime.Add(-time.Hour)
	backend.incidents[1].Alerts[0].UpdateTime = baseTime.Add(time.Second)
	backend.mu.Unlock()
	now.set(baseTime.Add(2 * time.Second))
	resumed := newAlertWatchRecorder(2)
	wantCode(t, svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/default", Cursor: cursor}, resumed), codes.Canceled, "")
	if len(resumed.sent) != 2 {
		t.Fatalf("sent %d messages, want a heartbeat and a change", len(resumed.sent))
	}
	change := resumed.sent[1].GetChange()
	if change.GetType() != defenderv1.AlertChange_CHANGE_TYPE_UPDATED || change.GetAlert().GetName() != "tenants/"+canonicalTenant+"/alerts/da1" {
		t.Fatalf("change = %v, want da1 updated", change)
	}

	// The filters bind the cursor.
	wantFieldError(t, svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/default", Cursor: cursor,
		Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_LOW}}, newAlertWatchRecorder(1)), "cursor")
	// An alert cursor is not an incident one, nor the reverse.
	wantFieldError(t, incidents.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: cursor}, newWatchRecorder(1)), "cursor")
	irec := newWatchRecorder(1)
	wantCode(t, incidents.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/default"}, irec), codes.Canceled, "")
	wantFieldError(t, svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/default", Cursor: irec.sent[0].GetCursor()}, newAlertWatchRecorder(1)), "cursor")

	now.set(baseTime.Add(25 * time.Hour))
	wantCode(t, svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/default", Cursor: cursor}, newAlertWatchRecorder(1)),
		codes.FailedPrecondition, ReasonWatchCursorExpired)
}

func TestWatchAlertsRefuses(t *testing.T) {
	backend := newFakeBackend(1)
	svc, _, _ := newAlertWatchServices(t, backend)
	for _, tc := range []struct {
		name  string
		req   *defenderv1.WatchAlertsRequest
		field string
	}{
		{"bad parent", &defenderv1.WatchAlertsRequest{Parent: "tenant/default"}, "parent"},
		{"unspecified status", &defenderv1.WatchAlertsRequest{Parent: "tenants/default", Statuses: []defenderv1.AlertStatus{0}}, "statuses[0]"},
		{"garbage cursor", &defenderv1.WatchAlertsRequest{Parent: "tenants/default", Cursor: "garbage"}, "cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFieldError(t, svc.WatchAlerts(tc.req, newAlertWatchRecorder(1)), tc.field)
		})
	}
	backend.kind = defender.BackendXDR
	wantCode(t, svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/default"}, newAlertWatchRecorder(1)),
		codes.Unimplemented, defender.ReasonUnsupportedByBackend)
	noHub, _ := newAlertService(t, newFakeBackend(1))
	wantCode(t, noHub.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/default"}, newAlertWatchRecorder(1)), codes.Unimplemented, "")
}

func TestMatchesAlertFilter(t *testing.T) {
	a := &defender.Alert{Status: defender.AlertStatusNew, Severity: defender.SeverityHigh, ServiceSource: "microsoftDefenderForEndpoint",
		DetectionSource: "antivirus", AssignedTo: "ann", IncidentID: "7", CreateTime: baseTime}
	for _, tc := range []struct {
		name string
		f    defender.AlertFilter
		want bool
	}{
		{"empty", defender.AlertFilter{}, true},
		{"status", defender.AlertFilter{Statuses: []defender.AlertStatus{defender.AlertStatusResolved}}, false},
		{"severity", defender.AlertFilter{Severities: []defender.Severity{defender.SeverityHigh}}, true},
		{"service source", defender.AlertFilter{ServiceSources: []string{"microsoftDefenderForOffice365"}}, false},
		{"detection source", defender.AlertFilter{DetectionSources: []string{"antivirus"}}, true},
		{"owner", defender.AlertFilter{AssignedTo: "bob"}, false},
		{"incident", defender.AlertFilter{IncidentID: "8"}, false},
		{"created before", defender.AlertFilter{CreatedBefore: baseTime}, false},
		{"created from", defender.AlertFilter{CreatedFrom: baseTime}, true},
	} {
		if got := matchesAlertFilter(tc.f, a); got != tc.want {
			t.Errorf("%s: matches = %t, want %t", tc.name, got, tc.want)
		}
	}
}
