package service

import (
	"context"
	"time"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// AlertOption configures the alert service.
type AlertOption func(*AlertService)

// WithAlertFanout serves ListAlerts on tenants/-, as WithFanout does
// ListIncidents: every tenant of tenants that the caller's policy allows,
// at most concurrency read at once. Without it, tenants/- is
// INVALID_ARGUMENT.
func WithAlertFanout(tenants TenantLister, concurrency int) AlertOption {
	return func(s *AlertService) {
		if concurrency < 1 {
			concurrency = DefaultFanoutConcurrency
		}
		s.fanout = fanoutSettings{tenants: tenants, concurrency: concurrency}
	}
}

// listAcross is ListAlerts on tenants/-: the merge of ListIncidents on
// tenants/- (fanoutCall) over alerts. A tenant on the XDR backend fails
// with UNSUPPORTED_BY_BACKEND and is reported unreachable like any other
// failing tenant.
func (s *AlertService) listAcross(ctx context.Context, req *defenderv1.ListAlertsRequest) (*defenderv1.ListAlertsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter, _, err := alertFilterFromRequest(req)
	if err != nil {
		return nil, err
	}
	if req.GetIncident() != "" {
		return nil, fieldError("incident", "may not be set when the parent is tenants/-: an incident belongs to one tenant")
	}
	fp := fanoutFingerprintOf(ctx, defender.IncidentFilter{}, false)
	fp.Subset = req.GetTenants()
	fp.Alerts = alertFingerprint{Filter: filter}.digest()
	call := fanoutCall[defender.Alert]{
		resolver: s.resolver, settings: s.fanout, tokens: s.tokens, errs: s.errs,
		list: alertList(filter), fp: fp,
		subset: req.GetTenants(), pageToken: req.GetPageToken(), size: size,
	}
	page, err := call.run(ctx)
	if err != nil {
		return nil, err
	}
	resp := &defenderv1.ListAlertsResponse{
		Alerts:             make([]*defenderv1.Alert, 0, len(page.items)),
		NextPageToken:      page.nextToken,
		Unreachable:        page.unreachable,
		UnreachableDetails: page.details,
	}
	for i := range page.items {
		resp.Alerts = append(resp.Alerts, alertToProto(page.items[i].tenant, &page.items[i].item))
	}
	return resp, nil
}

// alertList is the merge of alerts: newest created first, as Graph lists
// them, and at equal time and tenant the larger id first, compared as
// strings (alert ids are not numbers: da637…_-96…, GUIDs).
func alertList(filter defender.AlertFilter) fanoutList[defender.Alert] {
	return fanoutList[defender.Alert]{
		fetch: func(ctx context.Context, b defender.Backend, cursor string, size int) ([]defender.Alert, string, error) {
			page, err := b.ListAlerts(ctx, defender.AlertListQuery{Filter: filter, PageSize: size, Cursor: cursor})
			if err != nil || page == nil {
				return nil, "", err
			}
			return page.Alerts, page.NextCursor, nil
		},
		key:     func(a *defender.Alert) (time.Time, string) { return a.CreateTime, a.ID },
		idAfter: func(a, b string) bool { return a > b },
	}
}
