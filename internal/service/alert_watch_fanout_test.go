package service

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/watch"
)

// watchedAlertBackend holds alerts (ids as given) last updated the given
// minutes before baseTime, in one incident.
func watchedAlertBackend(alerts ...timedAlert) *fakeBackend {
	in := defender.Incident{ID: "1", CreateTime: baseTime.Add(-time.Hour)}
	for _, a := range alerts {
		at := baseTime.Add(-time.Duration(a.min) * time.Minute)
		in.Alerts = append(in.Alerts, defender.Alert{ID: a.id, IncidentID: "1", Status: defender.AlertStatusNew,
			Severity: defender.SeverityHigh, CreateTime: at.Add(-time.Hour), UpdateTime: at})
	}
	return &fakeBackend{kind: defender.BackendGraph, incidents: []defender.Incident{in}}
}

// newAlertWatchFanServices returns an alert and an incident service on
// tenants/- over r's served tenants, on one hub whose pollers poll hourly
// (so only the catch-up rounds deliver), with one clock and token key.
func newAlertWatchFanServices(t *testing.T, r fanoutResolver, served ...string) (*AlertService, *IncidentService, *testClock) {
	t.Helper()
	clock := &testClock{t: baseTime}
	hub := watch.NewHub(watch.Options{Timing: watch.Timing{Interval: time.Hour, Overlap: time.Minute}, Now: clock.now})
	t.Cleanup(hub.Close)
	alerts := NewAlertService(r, testCodec(t, 1), nil, WithAlertFanout(servedList(served), 2), WithAlertWatch(hub, time.Hour, 24*time.Hour, 0))
	alerts.tokens.now = clock.now
	incidents := NewIncidentService(r, testCodec(t, 1), nil, WithFanout(servedList(served), 2), WithWatch(hub, time.Hour, 24*time.Hour, 0))
	incidents.tokens.now = clock.now
	return alerts, incidents, clock
}

// watchAlertsFan runs one WatchAlerts on tenants/- until n messages were
// sent.
func watchAlertsFan(t *testing.T, ctx context.Context, svc *AlertService, cursor string, n int) ([]*defenderv1.WatchAlertsResponse, error) {
	t.Helper()
	rec := newAlertWatchRecorder(n)
	rec.ctx, rec.cancel = context.WithCancel(ctx)
	err := svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/-", Cursor: cursor}, rec)
	return rec.sent, err
}

func alertChangeNames(msgs []*defenderv1.WatchAlertsResponse) []string {
	var out []string
	for _, m := range msgs {
		if c := m.GetChange(); c != nil {
			out = append(out, c.GetAlert().GetName())
		}
	}
	slices.Sort(out)
	return out
}

// TestWatchAlertsAcrossTenants: one stream carries the alert changes of
// two tenants, each under its own tenant; the XDR tenant is reported in
// the heartbeats with UNSUPPORTED_BY_BACKEND; a watch resumed from any
// message's cursor loses no change of any tenant.
func TestWatchAlertsAcrossTenants(t *testing.T) {
	a := watchedAlertBackend(timedAlert{"a1", 100}, timedAlert{"a2", 5})
	b := watchedAlertBackend(timedAlert{"b1", 120}, timedAlert{"b2", 3})
	r := fanoutResolver{backends: map[string]defender.Backend{tenantA: a, tenantB: b, tenantC: xdrAlertBackend()}}
	svc, _, clock := newAlertWatchFanServices(t, r, "default", tenantB, tenantC)
	ctx := context.Background()

	clock.set(baseTime.Add(-10 * time.Minute))
	start, err := watchAlertsFan(t, ctx, svc, "", 1)
	wantCode(t, err, codes.Canceled, "")
	hb := start[0].GetHeartbeat()
	if hb == nil || start[0].GetCursor() == "" {
		t.Fatalf("first message %v, want a heartbeat with a cursor", start[0])
	}
	if want := []string{"tenants/" + tenantC}; !slices.Equal(hb.GetUnreachable(), want) {
		t.Fatalf("unreachable %v, want %v", hb.GetUnreachable(), want)
	}
	if d := hb.GetUnreachableDetails(); len(d) != 1 || d[0].GetCode() != code.Code_UNIMPLEMENTED || d[0].GetReason() != defender.ReasonUnsupportedByBackend {
		t.Fatalf("details %v, want UNSUPPORTED_BY_BACKEND", d)
	}

	clock.set(baseTime)
	msgs, err := watchAlertsFan(t, ctx, svc, start[0].GetCursor(), 3)
	wantCode(t, err, codes.Canceled, "")
	want := []string{alertName(tenantA, "a2"), alertName(tenantB, "b2")}
	if got := alertChangeNames(msgs); !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	for _, m := range msgs[1:] {
		if c := m.GetChange(); c.GetType() != defenderv1.AlertChange_CHANGE_TYPE_UPDATED {
			t.Errorf("change %v, want UPDATED (created before the watch's position)", c)
		}
	}
	again, err := watchAlertsFan(t, ctx, svc, msgs[1].GetCursor(), 3)
	wantCode(t, err, codes.Canceled, "")
	if got := alertChangeNames(again); !slices.Equal(got, want) {
		t.Errorf("changes after resuming from the first change %v, want %v", got, want)
	}
}

// TestWatchAlertsAcrossCursors: a cursor of WatchIncidents on tenants/- is
// refused on WatchAlerts on tenants/-, and the reverse; so are one
// tenant's alert cursor and one of another filter, all naming `cursor`.
func TestWatchAlertsAcrossCursors(t *testing.T) {
	r := fanoutResolver{backends: map[string]defender.Backend{tenantA: watchedAlertBackend(timedAlert{"a1", 100}), tenantB: watchedAlertBackend(timedAlert{"b1", 100})}}
	svc, incidents, _ := newAlertWatchFanServices(t, r, "default", tenantB)
	ctx := context.Background()
	fan, err := watchAlertsFan(t, ctx, svc, "", 1)
	wantCode(t, err, codes.Canceled, "")
	incFan, err := watchFan(t, ctx, incidents, "", 1)
	wantCode(t, err, codes.Canceled, "")
	one := newAlertWatchRecorder(1)
	wantCode(t, svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/default"}, one), codes.Canceled, "")

	_, err = watchAlertsFan(t, ctx, svc, incFan[0].GetCursor(), 1)
	wantFieldError(t, err, "cursor")
	_, err = watchFan(t, ctx, incidents, fan[0].GetCursor(), 1)
	wantFieldError(t, err, "cursor")
	_, err = watchAlertsFan(t, ctx, svc, one.sent[0].GetCursor(), 1)
	wantFieldError(t, err, "cursor")
	wantFieldError(t, svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/default", Cursor: fan[0].GetCursor()}, newAlertWatchRecorder(1)), "cursor")
	wantFieldError(t, svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/-", Cursor: fan[0].GetCursor(),
		Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_LOW}}, newAlertWatchRecorder(1)), "cursor")
	// The cursor resumes its own watch.
	_, err = watchAlertsFan(t, ctx, svc, fan[0].GetCursor(), 1)
	wantCode(t, err, codes.Canceled, "")
}

// TestWatchAlertsAcrossRefuses: an incident filter is refused on
// tenants/-; the stream fails when no tenant can serve alerts, or when
// tenants/- is not served.
func TestWatchAlertsAcrossRefuses(t *testing.T) {
	r := fanoutResolver{backends: map[string]defender.Backend{tenantA: watchedAlertBackend(), tenantC: xdrAlertBackend()}}
	svc, _, _ := newAlertWatchFanServices(t, r, "default")
	wantFieldError(t, svc.WatchAlerts(&defenderv1.WatchAlertsRequest{Parent: "tenants/-", Incident: "tenants/default/incidents/1"}, newAlertWatchRecorder(1)), "incident")

	onlyXDR, _, _ := newAlertWatchFanServices(t, r, tenantC)
	_, err := watchAlertsFan(t, context.Background(), onlyXDR, "", 1)
	wantCode(t, err, codes.Unimplemented, defender.ReasonUnsupportedByBackend)

	hub := watch.NewHub(watch.Options{})
	t.Cleanup(hub.Close)
	noFan := NewAlertService(r, testCodec(t, 1), nil, WithAlertWatch(hub, time.Hour, 24*time.Hour, 0))
	_, err = watchAlertsFan(t, context.Background(), noFan, "", 1)
	wantFieldError(t, err, "parent")
}
