package service

import (
	"context"
	"log/slog"
	"time"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/pagetoken"
)

// AlertService implements defenderv1.AlertServiceServer. Its handlers only
// translate: names, filters and updates to the domain, the backend's
// alerts and errors back.
type AlertService struct {
	defenderv1.UnimplementedAlertServiceServer

	resolver Resolver
	tokens   pageTokens
	errs     errorReporter
	fanout   fanoutSettings
	watch    watchSettings // WatchAlerts (alert_watch.go)
}

var _ defenderv1.AlertServiceServer = (*AlertService)(nil)

// NewAlertService returns the alert service. tokens signs page tokens (the
// incident service's key may be shared: alert tokens are fingerprinted
// apart); nil uses a random per-process key. log may be nil.
func NewAlertService(r Resolver, tokens *pagetoken.Codec, log *slog.Logger, opts ...AlertOption) *AlertService {
	if tokens == nil {
		tokens = pagetoken.NewRandom()
	}
	s := &AlertService{
		resolver: r,
		tokens:   pageTokens{codec: tokens, now: time.Now},
		errs:     errorReporter{log: orDiscard(log)},
		watch:    watchSettings{heartbeat: defaultWatchHeartbeat, cursorMaxAge: pageTokenTTL},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ListAlerts lists a tenant's alerts, one page per call; on tenants/-
// every tenant the caller may use, merged (alert_fanout.go).
func (s *AlertService) ListAlerts(ctx context.Context, req *defenderv1.ListAlertsRequest) (*defenderv1.ListAlertsResponse, error) {
	resp, err := s.listAlerts(ctx, req)
	if err != nil {
		return nil, s.errs.fail(ctx, "ListAlerts", err)
	}
	return resp, nil
}

func (s *AlertService) listAlerts(ctx context.Context, req *defenderv1.ListAlertsRequest) (*defenderv1.ListAlertsResponse, error) {
	if err := checkSubset(req.GetParent(), req.GetTenants()); err != nil {
		return nil, err
	}
	if req.GetParent() == wildcardParent {
		return s.listAcross(ctx, req)
	}
	tenant, err := parseTenantName("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter, incidentTenant, err := alertFilterFromRequest(req)
	if err != nil {
		return nil, err
	}
	var token listPageToken
	if req.GetPageToken() != "" {
		// Verify the signature before anything else is done for the call.
		if token, err = s.tokens.open(req.GetPageToken()); err != nil {
			return nil, err
		}
	}
	target, err := resolve(ctx, s.resolver, tenant)
	if err != nil {
		return nil, err
	}
	if err := checkIncidentTenant(ctx, s.resolver, incidentTenant, tenant, target); err != nil {
		return nil, err
	}
	fp := alertFingerprint{Binding: bindingOf(ctx, target), Tenant: target.Tenant, Backend: target.Backend.Kind(), Filter: filter}
	if req.GetPageToken() != "" {
		if err := token.matchesDigest(fp.digest()); err != nil {
			return nil, err
		}
	}
	page, err := target.Backend.ListAlerts(ctx, defender.AlertListQuery{Filter: filter, PageSize: size, Cursor: token.Cursor})
	if err != nil {
		return nil, err
	}
	resp := &defenderv1.ListAlertsResponse{}
	if page == nil {
		return resp, nil
	}
	resp.Alerts = make([]*defenderv1.Alert, 0, len(page.Alerts))
	for i := range page.Alerts {
		resp.Alerts = append(resp.Alerts, alertToProto(target.Tenant, &page.Alerts[i]))
	}
	if page.NextCursor != "" {
		if resp.NextPageToken, err = s.tokens.issueDigest(page.NextCursor, fp.digest()); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// GetAlert gets one alert.
func (s *AlertService) GetAlert(ctx context.Context, req *defenderv1.GetAlertRequest) (*defenderv1.Alert, error) {
	a, err := s.getAlert(ctx, req)
	if err != nil {
		return nil, s.errs.fail(ctx, "GetAlert", err)
	}
	return a, nil
}

func (s *AlertService) getAlert(ctx context.Context, req *defenderv1.GetAlertRequest) (*defenderv1.Alert, error) {
	tenant, id, err := parseAlertName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	target, err := resolve(ctx, s.resolver, tenant)
	if err != nil {
		return nil, err
	}
	a, err := target.Backend.GetAlert(ctx, id)
	if err != nil {
		return nil, err
	}
	return alertResponse(target.Tenant, id, a)
}

// UpdateAlert applies the masked fields and the comment.
func (s *AlertService) UpdateAlert(ctx context.Context, req *defenderv1.UpdateAlertRequest) (*defenderv1.Alert, error) {
	a, err := s.updateAlert(ctx, req)
	if err != nil {
		return nil, s.errs.fail(ctx, "UpdateAlert", err)
	}
	return a, nil
}

func (s *AlertService) updateAlert(ctx context.Context, req *defenderv1.UpdateAlertRequest) (*defenderv1.Alert, error) {
	alert := req.GetAlert()
	if alert == nil {
		return nil, fieldError("alert", "is required")
	}
	tenant, id, err := parseAlertName("alert.name", alert.GetName())
	if err != nil {
		return nil, err
	}
	update, err := alertUpdateFromRequest(alert, req.GetUpdateMask(), req.GetComment())
	if err != nil {
		return nil, err
	}
	target, err := resolve(ctx, s.resolver, tenant)
	if err != nil {
		return nil, err
	}
	updated, err := target.Backend.UpdateAlert(ctx, id, update)
	if err != nil {
		return nil, err
	}
	return alertResponse(target.Tenant, id, updated)
}

// alertResponse converts an alert the backend returned for id.
func alertResponse(tenant, id string, a *defender.Alert) (*defenderv1.Alert, error) {
	if a == nil {
		return nil, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "the backend returned no alert for %s", id)
	}
	if a.ID == "" {
		withID := *a
		withID.ID = id
		a = &withID
	}
	return alertToProto(tenant, a), nil
}
