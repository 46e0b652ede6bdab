package service

import (
	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/watch"
)

// watchAcross is WatchIncidents on tenants/- (fanWatch.run, watch_fanout.go).
func (s *IncidentService) watchAcross(req *defenderv1.WatchIncidentsRequest, stream defenderv1.IncidentService_WatchIncidentsServer) error {
	ctx := stream.Context()
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
	fp := fanoutFingerprintOf(ctx, filter, alerts)
	subj := fanSubject{
		key: func(k watch.Key) watch.Key {
			k.Alerts = alerts
			return k
		},
		match: func(ev *watch.Event) bool { return matchesFilter(filter, &ev.Incident) },
		change: func(tenant string, ev *watch.Event, cursor string) error {
			c := &defenderv1.IncidentChange{Type: changeTypes[ev.Kind], Incident: incidentToProto(tenant, &ev.Incident)}
			if ev.Target != nil {
				c.Target = incidentToProto(tenant, ev.Target)
			}
			return stream.Send(&defenderv1.WatchIncidentsResponse{
				Event:  &defenderv1.WatchIncidentsResponse_Change{Change: c},
				Cursor: cursor,
			})
		},
		heartbeat: func(hb *defenderv1.WatchHeartbeat, cursor string) error {
			return stream.Send(&defenderv1.WatchIncidentsResponse{
				Event:  &defenderv1.WatchIncidentsResponse_Heartbeat{Heartbeat: hb},
				Cursor: cursor,
			})
		},
	}
	f := fanWatch{resolver: s.resolver, fanout: s.fanout, watch: s.watch, tokens: s.tokens, errs: s.errs}
	return f.run(ctx, subj, req.GetCursor(), watchFanCursorKind, fp.watchFanDigest())
}
