package service

import (
	"context"
	"crypto/subtle"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/watch"
)

// ReasonWatchCursorExpired: a watch cursor older than the gateway keeps
// (FAILED_PRECONDITION): start a new watch without a cursor, after a
// ListIncidents over the gap.
const ReasonWatchCursorExpired = "WATCH_CURSOR_EXPIRED"

// defaultWatchHeartbeat is how often an idle watch gets a heartbeat.
const defaultWatchHeartbeat = 15 * time.Second

// watchSettings configure WatchIncidents.
type watchSettings struct {
	hub          *watch.Hub // nil: WatchIncidents is UNIMPLEMENTED
	heartbeat    time.Duration
	cursorMaxAge time.Duration
	maxDuration  time.Duration // 0: unbounded
}

// WithWatch serves WatchIncidents from hub, with a heartbeat every
// heartbeat on an idle stream, cursors accepted for cursorMaxAge, and each
// watch ended (OK) after maxDuration.
func WithWatch(hub *watch.Hub, heartbeat, cursorMaxAge, maxDuration time.Duration) IncidentOption {
	return func(s *IncidentService) {
		s.watch.hub = hub
		s.watch.maxDuration = maxDuration
		if heartbeat > 0 {
			s.watch.heartbeat = heartbeat
		}
		if cursorMaxAge > 0 {
			s.watch.cursorMaxAge = cursorMaxAge
		}
	}
}

// WatchIncidents streams the changes of a tenant's incidents; on tenants/-
// those of every tenant the caller may use (incident_watch_fanout.go).
func (s *IncidentService) WatchIncidents(req *defenderv1.WatchIncidentsRequest, stream defenderv1.IncidentService_WatchIncidentsServer) error {
	if err := s.watchIncidents(req, stream); err != nil {
		return s.errs.fail(stream.Context(), "WatchIncidents", err)
	}
	return nil
}

func (s *IncidentService) watchIncidents(req *defenderv1.WatchIncidentsRequest, stream defenderv1.IncidentService_WatchIncidentsServer) error {
	ctx := stream.Context()
	if s.watch.hub == nil {
		return defender.Errorf(defender.KindUnimplemented, defender.ReasonUnsupportedByBackend, "this gateway does not serve incident watches")
	}
	if req.GetParent() == wildcardParent {
		return s.watchAcross(req, stream)
	}
	tenant, err := parseTenantName("parent", req.GetParent())
	if err != nil {
		return err
	}
	filter, err := filterFromRequest(&defenderv1.ListIncidentsRequest{
		Statuses: req.GetStatuses(), Severities: req.GetSeverities(),
		AssignedTo: req.GetAssignedTo(), CreateTimeRange: req.GetCreateTimeRange(),
	})
	if err != nil {
		return err
	}
	alerts, err := withAlerts(req.GetView(), false)
	if err != nil {
		return err
	}
	var since time.Time
	var cursor watchCursor
	if req.GetCursor() != "" {
		if cursor, err = s.openCursor(req.GetCursor()); err != nil {
			return err
		}
	}
	target, err := resolve(ctx, s.resolver, tenant)
	if err != nil {
		return err
	}
	b := bindingOf(ctx, target)
	fp := listFingerprint{Binding: b, Tenant: target.Tenant, Backend: target.Backend.Kind(), Filter: filter, WithAlerts: alerts}
	if req.GetCursor() != "" {
		if subtle.ConstantTimeCompare([]byte(cursor.Request), []byte(fp.watchDigest())) != 1 {
			return fieldError("cursor", invalidPageToken)
		}
		since = time.Unix(0, cursor.Watermark).UTC()
		if age := s.tokens.now().Sub(since); age > s.watch.cursorMaxAge {
			return defender.Errorf(defender.KindFailedPrecondition, ReasonWatchCursorExpired,
				"the cursor is older than %s: list the incidents updated since then, and watch without a cursor", s.watch.cursorMaxAge)
		}
	}
	key := watch.Key{Tenant: target.Tenant, Context: target.Context.Name, Identity: b.User, Backend: target.Backend.Kind(), Alerts: alerts}
	sub, err := s.watch.hub.Subscribe(ctx, key, watch.Source{Backend: target.Backend, Values: ctx}, since)
	if err != nil {
		return err
	}
	defer sub.Close()
	w := watcher{s: s, stream: stream, tenant: target.Tenant, filter: filter, fp: fp, pos: sub.Start}
	return w.run(sub)
}

// watcher sends one subscription's rounds and heartbeats.
type watcher struct {
	s      *IncidentService
	stream defenderv1.IncidentService_WatchIncidentsServer
	tenant string
	filter defender.IncidentFilter
	fp     listFingerprint
	pos    time.Time // every change before it is delivered
}

func (w *watcher) run(sub *watch.Subscription) error {
	return runWatch(w.stream.Context(), w.s.watch, sub, w)
}

// watchSink is what runWatch sends a subscription's rounds and heartbeats
// to: one watch's stream.
type watchSink interface {
	heartbeat() error
	send(rounds []watch.Round) (bool, error)
}

// runWatch sends sub's rounds to sink, and a heartbeat when the watch
// starts and every heartbeat interval without a change, until ctx ends,
// the subscription fails or the watch ran its longest.
func runWatch(ctx context.Context, ws watchSettings, sub *watch.Subscription, sink watchSink) error {
	if err := sink.heartbeat(); err != nil {
		return err
	}
	timer := time.NewTimer(ws.heartbeat)
	defer timer.Stop()
	var end <-chan time.Time
	if d := ws.maxDuration; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		end = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end:
			// The watch ran its longest: it ends, and the client resumes
			// with the last cursor (on any replica).
			return sink.heartbeat()
		case <-timer.C:
			if err := sink.heartbeat(); err != nil {
				return err
			}
		case <-sub.Ready():
			rounds, err := sub.Take()
			if err != nil {
				return err
			}
			sent, err := sink.send(rounds)
			if err != nil {
				return err
			}
			if !sent {
				continue
			}
		}
		timer.Reset(ws.heartbeat)
	}
}

// send sends the changes of rounds that match the filter, each with its
// cursor, and reports whether it sent anything. A round's events are
// positioned at its start (or later, the subscription's own position); the
// position moves to its end once it is sent.
func (w *watcher) send(rounds []watch.Round) (bool, error) {
	sent := false
	for _, r := range rounds {
		at := later(w.pos, r.From)
		cursor := ""
		for i := range r.Events {
			ev := &r.Events[i]
			if !matchesFilter(w.filter, &ev.Incident) {
				continue
			}
			if cursor == "" {
				var err error
				if cursor, err = w.cursor(at); err != nil {
					return sent, err
				}
			}
			if err := w.stream.Send(&defenderv1.WatchIncidentsResponse{
				Event:  &defenderv1.WatchIncidentsResponse_Change{Change: w.change(ev)},
				Cursor: cursor,
			}); err != nil {
				return sent, err
			}
			sent = true
		}
		w.pos = later(at, r.After)
	}
	return sent, nil
}

func (w *watcher) change(ev *watch.Event) *defenderv1.IncidentChange {
	c := &defenderv1.IncidentChange{Type: changeTypes[ev.Kind], Incident: incidentToProto(w.tenant, &ev.Incident)}
	if ev.Target != nil {
		c.Target = incidentToProto(w.tenant, ev.Target)
	}
	return c
}

var changeTypes = map[watch.Kind]defenderv1.IncidentChange_ChangeType{
	watch.Created:    defenderv1.IncidentChange_CHANGE_TYPE_CREATED,
	watch.Updated:    defenderv1.IncidentChange_CHANGE_TYPE_UPDATED,
	watch.Redirected: defenderv1.IncidentChange_CHANGE_TYPE_REDIRECTED,
}

// heartbeat sends a heartbeat at the current position.
func (w *watcher) heartbeat() error {
	cursor, err := w.cursor(w.pos)
	if err != nil {
		return err
	}
	return w.stream.Send(&defenderv1.WatchIncidentsResponse{
		Event: &defenderv1.WatchIncidentsResponse_Heartbeat{Heartbeat: &defenderv1.WatchHeartbeat{
			Time:      timestamppb.New(w.s.tokens.now()),
			Watermark: timestamppb.New(w.pos),
		}},
		Cursor: cursor,
	})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
