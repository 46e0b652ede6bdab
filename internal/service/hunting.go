package service

import (
	"context"
	"log/slog"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// HuntingService implements defenderv1.HuntingServiceServer.
type HuntingService struct {
	defenderv1.UnimplementedHuntingServiceServer

	resolver Resolver
	errs     errorReporter
}

var _ defenderv1.HuntingServiceServer = (*HuntingService)(nil)

// NewHuntingService returns the hunting service. log may be nil.
func NewHuntingService(r Resolver, log *slog.Logger) *HuntingService {
	return &HuntingService{resolver: r, errs: errorReporter{log: orDiscard(log)}}
}

// RunQuery runs one advanced hunting query. The timespan is checked against
// the documented ISO 8601 forms, then passes through to the backend, which
// decides whether it supports it (XDR does not).
func (s *HuntingService) RunQuery(ctx context.Context, req *defenderv1.RunQueryRequest) (*defenderv1.RunQueryResponse, error) {
	resp, err := s.runQuery(ctx, req)
	if err != nil {
		return nil, s.errs.fail(ctx, "RunQuery", err)
	}
	return resp, nil
}

func (s *HuntingService) runQuery(ctx context.Context, req *defenderv1.RunQueryRequest) (*defenderv1.RunQueryResponse, error) {
	tenant, err := parseTenantName("tenant", req.GetTenant())
	if err != nil {
		return nil, err
	}
	if err := checkQuery(req.GetQuery(), req.GetTimespan()); err != nil {
		return nil, err
	}
	if err := checkTimespan(req.GetTimespan()); err != nil {
		return nil, err
	}
	target, err := resolve(ctx, s.resolver, tenant)
	if err != nil {
		return nil, err
	}
	result, err := target.Backend.RunHuntingQuery(ctx, defender.HuntingQuery{Query: req.GetQuery(), Timespan: req.GetTimespan()})
	if err != nil {
		return nil, err
	}
	return huntingResultToProto(result)
}
