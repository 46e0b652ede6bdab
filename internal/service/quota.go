package service

import (
	"context"
	"log/slog"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/quota"
)

// QuotaReader reads the budgets of a tenant and backend; quota.Scheduler
// is one.
type QuotaReader interface {
	State(ctx context.Context, tenant, backend string) ([]quota.BudgetState, error)
}

// QuotaService implements defenderv1.QuotaServiceServer.
type QuotaService struct {
	defenderv1.UnimplementedQuotaServiceServer

	resolver Resolver
	quota    QuotaReader
	errs     errorReporter
}

var _ defenderv1.QuotaServiceServer = (*QuotaService)(nil)

// NewQuotaService returns the quota service. q nil is a gateway without
// quota scheduling: GetQuota answers with enabled false and no budgets.
// log may be nil.
func NewQuotaService(r Resolver, q QuotaReader, log *slog.Logger) *QuotaService {
	return &QuotaService{resolver: r, quota: q, errs: errorReporter{log: orDiscard(log)}}
}

// GetQuota reports the budgets of the backend that serves the tenant. It
// makes no upstream request.
func (s *QuotaService) GetQuota(ctx context.Context, req *defenderv1.GetQuotaRequest) (*defenderv1.Quota, error) {
	resp, err := s.getQuota(ctx, req)
	if err != nil {
		return nil, s.errs.fail(ctx, "GetQuota", err)
	}
	return resp, nil
}

func (s *QuotaService) getQuota(ctx context.Context, req *defenderv1.GetQuotaRequest) (*defenderv1.Quota, error) {
	tenant, err := parseQuotaName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	target, err := resolve(ctx, s.resolver, tenant)
	if err != nil {
		return nil, err
	}
	kind := target.Backend.Kind()
	resp := &defenderv1.Quota{Name: quotaName(target.Tenant), Backend: backends[kind]}
	if s.quota == nil {
		return resp, nil
	}
	states, err := s.quota.State(ctx, target.Tenant, string(kind))
	if err != nil {
		return nil, err
	}
	resp.Enabled = true
	resp.Shared, resp.Budgets = budgetsToProto(states)
	return resp, nil
}
