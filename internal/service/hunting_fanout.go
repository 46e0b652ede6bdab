package service

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// TenantColumn is the column RunQuery on tenants/- adds to every row: the
// name of the tenant the row comes from, tenants/{tenant id}. A result's
// own column of that name (any case) is replaced.
const TenantColumn = "GatewayTenant"

// WithHuntingFanout serves RunQuery on tenants/-: the query runs in every
// tenant of tenants that the caller's policy allows, at most concurrency at
// once. Without it, tenants/- is INVALID_ARGUMENT.
func WithHuntingFanout(tenants TenantLister, concurrency int) HuntingOption {
	return func(s *HuntingService) {
		if concurrency < 1 {
			concurrency = DefaultFanoutConcurrency
		}
		s.fanout = fanoutSettings{tenants: tenants, concurrency: concurrency}
	}
}

// runAcross is RunQuery on tenants/-: the query in each tenant, each within
// that tenant's quota, the rows of all in one result with TenantColumn,
// tenant by tenant in the served order. A tenant that fails is reported in
// unreachable; the call fails for bad input, when the caller may use no
// tenant, when every tenant fails (with the first failure, e.g. a KQL
// error every tenant reports), or when the whole result is over the
// response bound.
func (s *HuntingService) runAcross(ctx context.Context, req *defenderv1.RunQueryRequest) (*defenderv1.RunQueryResponse, error) {
	if err := checkQuery(req.GetQuery(), req.GetTimespan()); err != nil {
		return nil, err
	}
	if err := checkTimespan(req.GetTimespan()); err != nil {
		return nil, err
	}
	if s.fanout.tenants == nil {
		return nil, fieldError("tenant", "tenants/- is not served by this gateway")
	}
	tenants, err := fanoutTargets(ctx, s.resolver, s.fanout.tenants)
	if err != nil {
		return nil, err
	}
	results := s.runEach(ctx, tenants, defender.HuntingQuery{
		Query: req.GetQuery(), Timespan: req.GetTimespan(),
		// Each tenant may read as much as the whole response may hold
		// (see runQuery); the sum is checked below.
		MaxResultBytes: s.maxResultBytes + s.maxResultBytes/2,
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, t := range tenants {
		// One tenant's result over the bound makes the whole one too large.
		if e, ok := defender.AsError(t.err); ok && e.Reason == defender.ReasonResultTooLarge {
			return nil, defender.ResultTooLargeError(s.maxResultBytes)
		}
	}
	if err := everyTenantFailed(tenants); err != nil {
		return nil, err
	}
	resp, err := mergeHuntingResults(tenants, results)
	if err != nil {
		return nil, err
	}
	for _, t := range tenants {
		if t.err != nil {
			u, _ := unreachableOf(ctx, s.errs, t.state.Tenant, t.err)
			resp.Unreachable = append(resp.Unreachable, u.GetTenant())
			resp.UnreachableDetails = append(resp.UnreachableDetails, u)
		}
	}
	if int64(proto.Size(resp)) > s.maxResultBytes {
		return nil, defender.ResultTooLargeError(s.maxResultBytes)
	}
	return resp, nil
}

// runEach runs q in every tenant that resolved, at most the configured
// number at once, within the tenants' share of the deadline; a failure is
// left in the tenant's err.
func (s *HuntingService) runEach(ctx context.Context, tenants []*fanoutTenant, q defender.HuntingQuery) []*defender.HuntingResult {
	ctx, cancel := tenantsContext(ctx)
	defer cancel()
	results := make([]*defender.HuntingResult, len(tenants))
	sem := make(chan struct{}, max(s.fanout.concurrency, 1))
	var wg sync.WaitGroup
	for i, t := range tenants {
		if t.err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				t.err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			results[i], t.err = t.target.Backend.RunHuntingQuery(ctx, q)
		}()
	}
	wg.Wait()
	return results
}

// mergeHuntingResults puts the tenants' rows in one result: TenantColumn
// first, then every tenant's columns in order of first appearance (a
// column of the same name and another type keeps the first type).
func mergeHuntingResults(tenants []*fanoutTenant, results []*defender.HuntingResult) (*defenderv1.RunQueryResponse, error) {
	resp := &defenderv1.RunQueryResponse{Columns: []*defenderv1.Column{{Name: TenantColumn, Type: "string"}}}
	seen := map[string]bool{strings.ToLower(TenantColumn): true}
	for i, t := range tenants {
		r := results[i]
		if t.err != nil || r == nil {
			continue
		}
		for _, c := range r.Columns {
			if key := strings.ToLower(c.Name); !seen[key] {
				seen[key] = true
				resp.Columns = append(resp.Columns, &defenderv1.Column{Name: c.Name, Type: c.Type})
			}
		}
		name := structpb.NewStringValue(tenantsCollection + "/" + t.target.Tenant)
		for j, row := range r.Rows {
			st, err := toStruct(row)
			if err != nil {
				return nil, internalError(fmt.Errorf("hunting row %d of tenant %s: %w", j, t.target.Tenant, err))
			}
			if st == nil {
				st = &structpb.Struct{}
			}
			if st.Fields == nil {
				st.Fields = map[string]*structpb.Value{}
			}
			for k := range st.Fields {
				if strings.EqualFold(k, TenantColumn) {
					delete(st.Fields, k)
				}
			}
			st.Fields[TenantColumn] = name
			resp.Rows = append(resp.Rows, st)
		}
	}
	return resp, nil
}
