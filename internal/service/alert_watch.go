package service

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/watch"
)

// WithAlertWatch serves WatchAlerts from hub (the incident watch's: its
// alert pollers have their own keys), with WithWatch's settings.
func WithAlertWatch(hub *watch.Hub, heartbeat, cursorMaxAge, maxDuration time.Duration) AlertOption {
	return func(s *AlertService) {
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

// alertWatchCursorKind tells a WatchAlerts cursor from a WatchIncidents
// one (and from a page token).
const alertWatchCursorKind = "alertwatch"

// WatchAlerts streams the changes of a tenant's alerts; on tenants/- those
// of every tenant the caller may use (alert_watch_fanout.go).
func (s *AlertService) WatchAlerts(req *defenderv1.WatchAlertsRequest, stream defenderv1.AlertService_WatchAlertsServer) error {
	if err := s.watchAlerts(req, stream); err != nil {
		return s.errs.fail(stream.Context(), "WatchAlerts", err)
	}
	return nil
}

func (s *AlertService) watchAlerts(req *defenderv1.WatchAlertsRequest, stream defenderv1.AlertService_WatchAlertsServer) error {
	ctx := stream.Context()
	if s.watch.hub == nil {
		return defender.Errorf(defender.KindUnimplemented, defender.ReasonUnsupportedByBackend, "this gateway does not serve alert watches")
	}
	if req.GetParent() == wildcardParent {
		return s.watchAcross(req, stream)
	}
	tenant, err := parseTenantName("parent", req.GetParent())
	if err != nil {
		return err
	}
	filter, incidentTenant, err := alertFilterFromRequest(&defenderv1.ListAlertsRequest{
		Statuses: req.GetStatuses(), Severities: req.GetSeverities(),
		ServiceSources: req.GetServiceSources(), DetectionSources: req.GetDetectionSources(),
		AssignedTo: req.GetAssignedTo(), CreateTimeRange: req.GetCreateTimeRange(), Incident: req.GetIncident(),
	})
	if err != nil {
		return err
	}
	var cursor watchCursor
	if req.GetCursor() != "" {
		if cursor, err = s.tokens.openWatchCursor(req.GetCursor(), alertWatchCursorKind); err != nil {
			return err
		}
	}
	target, err := resolve(ctx, s.resolver, tenant)
	if err != nil {
		return err
	}
	if target.Backend.Kind() == defender.BackendXDR {
		return defender.Errorf(defender.KindUnimplemented, defender.ReasonUnsupportedByBackend,
			"the XDR backend has no alerts endpoint: watch the incidents with their alerts instead")
	}
	if err := checkIncidentTenant(ctx, s.resolver, incidentTenant, tenant, target); err != nil {
		return err
	}
	b := bindingOf(ctx, target)
	fp := alertFingerprint{Binding: b, Tenant: target.Tenant, Backend: target.Backend.Kind(), Filter: filter}
	var since time.Time
	if req.GetCursor() != "" {
		if subtle.ConstantTimeCompare([]byte(cursor.Request), []byte(fp.watchDigest())) != 1 {
			return fieldError("cursor", invalidPageToken)
		}
		since = time.Unix(0, cursor.Watermark).UTC()
		if age := s.tokens.now().Sub(since); age > s.watch.cursorMaxAge {
			return defender.Errorf(defender.KindFailedPrecondition, ReasonWatchCursorExpired,
				"the cursor is older than %s: list the alerts updated since then, and watch without a cursor", s.watch.cursorMaxAge)
		}
	}
	key := watch.Key{Tenant: target.Tenant, Context: target.Context.Name, Identity: b.User, Backend: target.Backend.Kind(), Subject: watch.AlertsSubject}
	sub, err := s.watch.hub.Subscribe(ctx, key, watch.Source{Backend: target.Backend, Values: ctx}, since)
	if err != nil {
		return err
	}
	defer sub.Close()
	w := &alertWatcher{s: s, stream: stream, tenant: target.Tenant, filter: filter, fp: fp, pos: sub.Start}
	return runWatch(ctx, s.watch, sub, w)
}

// watchDigest is the fingerprint of an alert watch, in its own domain.
func (f alertFingerprint) watchDigest() string {
	h := sha256.New()
	fmt.Fprintf(h, "alert watch v1 %s", f.digest())
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// alertWatcher sends one alert subscription's rounds and heartbeats.
type alertWatcher struct {
	s      *AlertService
	stream defenderv1.AlertService_WatchAlertsServer
	tenant string
	filter defender.AlertFilter
	fp     alertFingerprint
	pos    time.Time // every change before it is delivered
}

func (w *alertWatcher) cursor(pos time.Time) (string, error) {
	return w.s.tokens.codec.Encode(watchCursor{Watermark: pos.UnixNano(), Request: w.fp.watchDigest(), Kind: alertWatchCursorKind})
}

// send is watcher.send for alerts.
func (w *alertWatcher) send(rounds []watch.Round) (bool, error) {
	sent := false
	for _, r := range rounds {
		at := later(w.pos, r.From)
		cursor := ""
		for i := range r.Events {
			ev := &r.Events[i]
			if ev.Alert == nil || !matchesAlertFilter(w.filter, ev.Alert) {
				continue
			}
			if cursor == "" {
				var err error
				if cursor, err = w.cursor(at); err != nil {
					return sent, err
				}
			}
			if err := w.stream.Send(&defenderv1.WatchAlertsResponse{
				Event: &defenderv1.WatchAlertsResponse_Change{Change: &defenderv1.AlertChange{
					Type: alertChangeTypes[ev.Kind], Alert: alertToProto(w.tenant, ev.Alert),
				}},
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

var alertChangeTypes = map[watch.Kind]defenderv1.AlertChange_ChangeType{
	watch.Created: defenderv1.AlertChange_CHANGE_TYPE_CREATED,
	watch.Updated: defenderv1.AlertChange_CHANGE_TYPE_UPDATED,
}

func (w *alertWatcher) heartbeat() error {
	cursor, err := w.cursor(w.pos)
	if err != nil {
		return err
	}
	return w.stream.Send(&defenderv1.WatchAlertsResponse{
		Event: &defenderv1.WatchAlertsResponse_Heartbeat{Heartbeat: &defenderv1.WatchHeartbeat{
			Time:      timestamppb.New(w.s.tokens.now()),
			Watermark: timestamppb.New(w.pos),
		}},
		Cursor: cursor,
	})
}

// matchesAlertFilter reports whether a, as it is after a change, matches a
// watch's filter (ListAlerts' fields, applied by the gateway).
func matchesAlertFilter(f defender.AlertFilter, a *defender.Alert) bool {
	switch {
	case len(f.Statuses) > 0 && !slices.Contains(f.Statuses, a.Status):
		return false
	case len(f.Severities) > 0 && !slices.Contains(f.Severities, a.Severity):
		return false
	case len(f.ServiceSources) > 0 && !slices.Contains(f.ServiceSources, a.ServiceSource):
		return false
	case len(f.DetectionSources) > 0 && !slices.Contains(f.DetectionSources, a.DetectionSource):
		return false
	case f.AssignedTo != "" && a.AssignedTo != f.AssignedTo:
		return false
	case f.IncidentID != "" && a.IncidentID != f.IncidentID:
		return false
	case !f.CreatedFrom.IsZero() && a.CreateTime.Before(f.CreatedFrom):
		return false
	case !f.CreatedBefore.IsZero() && !a.CreateTime.Before(f.CreatedBefore):
		return false
	}
	return true
}
