package service

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/watch"
)

// watchRecorder is an IncidentService_WatchIncidentsServer that keeps what
// is sent and ends the watch (cancels its context) after `after` messages.
type watchRecorder struct {
	grpc.ServerStream
	ctx    context.Context
	cancel context.CancelFunc
	after  int
	sent   []*defenderv1.WatchIncidentsResponse
}

func newWatchRecorder(after int) *watchRecorder {
	ctx, cancel := context.WithCancel(context.Background())
	return &watchRecorder{ctx: ctx, cancel: cancel, after: after}
}

func (s *watchRecorder) Context() context.Context { return s.ctx }
func (s *watchRecorder) Send(m *defenderv1.WatchIncidentsResponse) error {
	// A real stream refuses to send once it has ended.
	if err := s.ctx.Err(); err != nil {
		return err
	}
	s.sent = append(s.sent, m)
	if len(s.sent) >= s.after {
		s.cancel()
	}
	return nil
}

// newWatchService is newIncidentService with a hub over a fake clock.
func newWatchService(t *testing.T, backend *fakeBackend) (*IncidentService, *time.Time) {
	t.Helper()
	now := baseTime
	clock := func() time.Time { return now }
	hub := watch.NewHub(watch.Options{Timing: watch.Timing{Interval: time.Hour, Overlap: time.Minute}, Now: clock})
	t.Cleanup(hub.Close)
	svc := NewIncidentService(fakeResolver{backend: backend}, testCodec(t, 1), nil, WithWatch(hub, time.Hour, 24*time.Hour, 0))
	svc.tokens.now = clock
	return svc, &now
}

// TestWatchIncidentsStartsWithAHeartbeatAndACursor: the first message is a
// heartbeat at the watch's position, whose cursor opens the same watch
// again (and no other).
func TestWatchIncidentsStartsWithAHeartbeatAndACursor(t *testing.T) {
	svc, _ := newWatchService(t, newFakeBackend(3))
	rec := newWatchRecorder(1)
	err := svc.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/default"}, rec)
	wantCode(t, err, codes.Canceled, "")
	if len(rec.sent) != 1 || rec.sent[0].GetHeartbeat() == nil || rec.sent[0].GetCursor() == "" {
		t.Fatalf("sent %v, want one heartbeat with a cursor", rec.sent)
	}
	if got := rec.sent[0].GetHeartbeat().GetWatermark().AsTime(); !got.Equal(baseTime) {
		t.Errorf("watermark %s, want the clock's %s (no visibility delay)", got, baseTime)
	}
	again := newWatchRecorder(1)
	err = svc.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: rec.sent[0].GetCursor()}, again)
	wantCode(t, err, codes.Canceled, "")
	other := newWatchRecorder(1)
	err = svc.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: rec.sent[0].GetCursor(),
		Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_LOW}}, other)
	wantFieldError(t, err, "cursor")
}

// TestWatchIncidentsRefusesBadInput: every bad request is refused before
// the upstream, with its field named.
func TestWatchIncidentsRefusesBadInput(t *testing.T) {
	backend := newFakeBackend(3)
	svc, now := newWatchService(t, backend)
	rec := newWatchRecorder(1)
	if err := svc.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/default"}, rec); err == nil {
		t.Fatal("the first watch did not end")
	}
	cursor := rec.sent[0].GetCursor()
	pageToken, err := svc.tokens.issue("1", listFingerprint{})
	if err != nil {
		t.Fatal(err)
	}
	// The requests below are refused before any subscription: with the hub
	// closed (its pollers stopped), any upstream call would be theirs.
	svc.watch.hub.Close()
	calls := backend.callCount()
	for _, tc := range []struct {
		name  string
		req   *defenderv1.WatchIncidentsRequest
		field string
	}{
		{"bad parent", &defenderv1.WatchIncidentsRequest{Parent: "tenant/default"}, "parent"},
		{"unspecified status", &defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Statuses: []defenderv1.IncidentStatus{0}}, "statuses[0]"},
		{"bad range", &defenderv1.WatchIncidentsRequest{Parent: "tenants/default", CreateTimeRange: &defenderv1.TimeRange{
			StartTime: rec.sent[0].GetHeartbeat().GetTime(), EndTime: rec.sent[0].GetHeartbeat().GetTime()}}, "create_time_range"},
		{"garbage cursor", &defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: "garbage"}, "cursor"},
		{"altered cursor", &defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: cursor[:len(cursor)-2] + "xx"}, "cursor"},
		{"a page token", &defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: pageToken}, "cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFieldError(t, svc.WatchIncidents(tc.req, newWatchRecorder(1)), tc.field)
		})
	}
	if got := backend.callCount(); got != calls {
		t.Errorf("bad requests made %d upstream calls", got-calls)
	}

	*now = now.Add(25 * time.Hour)
	err = svc.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: cursor}, newWatchRecorder(1))
	wantCode(t, err, codes.FailedPrecondition, ReasonWatchCursorExpired)
}

// TestWatchIncidentsWithoutAHub: a gateway built without a hub answers
// UNIMPLEMENTED.
func TestWatchIncidentsWithoutAHub(t *testing.T) {
	svc, _ := newIncidentService(t, newFakeBackend(1))
	err := svc.WatchIncidents(&defenderv1.WatchIncidentsRequest{Parent: "tenants/default"}, newWatchRecorder(1))
	wantCode(t, err, codes.Unimplemented, "")
}
