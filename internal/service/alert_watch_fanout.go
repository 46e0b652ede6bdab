package service

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/watch"
)

// watchAcross is WatchAlerts on tenants/-: the watch across tenants of
// WatchIncidents (fanWatch.run, watch_fanout.go) over each tenant's alert
// poller. A tenant on the XDR backend is reported unreachable with
// UNSUPPORTED_BY_BACKEND, as ListAlerts on tenants/- does. Its cursors are
// of their own kind and digest: one of WatchIncidents is refused.
func (s *AlertService) watchAcross(req *defenderv1.WatchAlertsRequest, stream defenderv1.AlertService_WatchAlertsServer) error {
	ctx := stream.Context()
	filter, _, err := alertFilterFromRequest(&defenderv1.ListAlertsRequest{
		Statuses: req.GetStatuses(), Severities: req.GetSeverities(),
		ServiceSources: req.GetServiceSources(), DetectionSources: req.GetDetectionSources(),
		AssignedTo: req.GetAssignedTo(), CreateTimeRange: req.GetCreateTimeRange(),
	})
	if err != nil {
		return err
	}
	if req.GetIncident() != "" {
		return fieldError("incident", "may not be set when the parent is tenants/-: an incident belongs to one tenant")
	}
	fp := fanoutFingerprintOf(ctx, defender.IncidentFilter{}, false)
	fp.Alerts = alertFingerprint{Filter: filter}.digest()
	subj := fanSubject{
		key: func(k watch.Key) watch.Key {
			k.Subject = watch.AlertsSubject
			return k
		},
		refuse: func(t authctx.Target) error {
			if t.Backend.Kind() == defender.BackendXDR {
				return defender.Errorf(defender.KindUnimplemented, defender.ReasonUnsupportedByBackend,
					"the XDR backend has no alerts endpoint: watch the incidents with their alerts instead")
			}
			return nil
		},
		match: func(ev *watch.Event) bool { return ev.Alert != nil && matchesAlertFilter(filter, ev.Alert) },
		change: func(tenant string, ev *watch.Event, cursor string) error {
			return stream.Send(&defenderv1.WatchAlertsResponse{
				Event: &defenderv1.WatchAlertsResponse_Change{Change: &defenderv1.AlertChange{
					Type: alertChangeTypes[ev.Kind], Alert: alertToProto(tenant, ev.Alert),
				}},
				Cursor: cursor,
			})
		},
		heartbeat: func(hb *defenderv1.WatchHeartbeat, cursor string) error {
			return stream.Send(&defenderv1.WatchAlertsResponse{
				Event:  &defenderv1.WatchAlertsResponse_Heartbeat{Heartbeat: hb},
				Cursor: cursor,
			})
		},
	}
	f := fanWatch{resolver: s.resolver, fanout: s.fanout, watch: s.watch, tokens: s.tokens, errs: s.errs}
	return f.run(ctx, subj, req.GetCursor(), alertWatchFanCursorKind, fp.alertWatchFanDigest())
}

// alertWatchFanDigest is the fingerprint of WatchAlerts across tenants, in
// a domain of its own (not watchFanDigest's).
func (f fanoutFingerprint) alertWatchFanDigest() string {
	h := sha256.New()
	fmt.Fprintf(h, "alert watch fanout v1 %s", f.digest())
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
