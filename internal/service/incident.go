package service

import (
	"context"
	"log/slog"
	"time"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/pagetoken"
)

// IncidentService implements defenderv1.IncidentServiceServer.
type IncidentService struct {
	defenderv1.UnimplementedIncidentServiceServer

	resolver Resolver
	tokens   pageTokens
	errs     errorReporter
	watch    watchSettings
	fanout   fanoutSettings
}

// IncidentOption configures the incident service.
type IncidentOption func(*IncidentService)

var _ defenderv1.IncidentServiceServer = (*IncidentService)(nil)

// NewIncidentService returns the incident service. tokens signs page
// tokens; nil uses a random per-process key. log may be nil.
func NewIncidentService(r Resolver, tokens *pagetoken.Codec, log *slog.Logger, opts ...IncidentOption) *IncidentService {
	if tokens == nil {
		tokens = pagetoken.NewRandom()
	}
	s := &IncidentService{
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

// ListIncidents lists a tenant's incidents, one page per call; on
// tenants/- every tenant the caller may use, merged (fanout.go).
func (s *IncidentService) ListIncidents(ctx context.Context, req *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
	resp, err := s.listIncidents(ctx, req)
	if err != nil {
		return nil, s.errs.fail(ctx, "ListIncidents", err)
	}
	return resp, nil
}

func (s *IncidentService) listIncidents(ctx context.Context, req *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
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
	filter, err := filterFromRequest(req)
	if err != nil {
		return nil, err
	}
	alerts, err := withAlerts(req.GetView(), false)
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
	fp := listFingerprint{Binding: bindingOf(ctx, target), Tenant: target.Tenant, Backend: target.Backend.Kind(), Filter: filter, WithAlerts: alerts}
	if req.GetPageToken() != "" {
		if err := token.matches(fp); err != nil {
			return nil, err
		}
	}
	page, err := target.Backend.ListIncidents(ctx, defender.ListQuery{
		Filter:     filter,
		PageSize:   size,
		WithAlerts: alerts,
		Cursor:     token.Cursor,
	})
	if err != nil {
		return nil, err
	}
	resp := &defenderv1.ListIncidentsResponse{}
	if page == nil {
		return resp, nil
	}
	resp.Incidents = make([]*defenderv1.Incident, 0, len(page.Incidents))
	for i := range page.Incidents {
		resp.Incidents = append(resp.Incidents, incidentToProto(target.Tenant, &page.Incidents[i]))
	}
	if page.NextCursor != "" {
		if resp.NextPageToken, err = s.tokens.issue(page.NextCursor, fp); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// GetIncident gets one incident, by default with its alerts.
func (s *IncidentService) GetIncident(ctx context.Context, req *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
	in, err := s.getIncident(ctx, req)
	if err != nil {
		return nil, s.errs.fail(ctx, "GetIncident", err)
	}
	return in, nil
}

func (s *IncidentService) getIncident(ctx context.Context, req *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
	tenant, id, err := parseIncidentName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	alerts, err := withAlerts(req.GetView(), true)
	if err != nil {
		return nil, err
	}
	target, err := resolve(ctx, s.resolver, tenant)
	if err != nil {
		return nil, err
	}
	in, err := target.Backend.GetIncident(ctx, id, alerts)
	if err != nil {
		return nil, err
	}
	return incidentResponse(target.Tenant, id, in)
}

// UpdateIncident applies the masked fields and the comment, after checking
// the optional preconditions.
func (s *IncidentService) UpdateIncident(ctx context.Context, req *defenderv1.UpdateIncidentRequest) (*defenderv1.Incident, error) {
	in, err := s.updateIncident(ctx, req)
	if err != nil {
		return nil, s.errs.fail(ctx, "UpdateIncident", err)
	}
	return in, nil
}

func (s *IncidentService) updateIncident(ctx context.Context, req *defenderv1.UpdateIncidentRequest) (*defenderv1.Incident, error) {
	incident := req.GetIncident()
	if incident == nil {
		return nil, fieldError("incident", "is required")
	}
	tenant, id, err := parseIncidentName("incident.name", incident.GetName())
	if err != nil {
		return nil, err
	}
	update, err := updateFromRequest(incident, req.GetUpdateMask(), req.GetComment())
	if err != nil {
		return nil, err
	}
	pre, err := preconditionFromRequest(req)
	if err != nil {
		return nil, err
	}
	target, err := resolve(ctx, s.resolver, tenant)
	if err != nil {
		return nil, err
	}
	if err := pre.check(ctx, target.Backend, id); err != nil {
		return nil, err
	}
	updated, err := target.Backend.UpdateIncident(ctx, id, update)
	if err != nil {
		return nil, err
	}
	return incidentResponse(target.Tenant, id, updated)
}

// incidentResponse converts an incident the backend returned for id.
func incidentResponse(tenant, id string, in *defender.Incident) (*defenderv1.Incident, error) {
	if in == nil {
		return nil, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "the backend returned no incident for %s", id)
	}
	if in.ID == "" {
		withID := *in
		withID.ID = id
		in = &withID
	}
	return incidentToProto(tenant, in), nil
}
