package service

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/proto"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
)

// DefaultMaxResultBytes bounds one RunQuery response: the 4 MiB a gRPC
// client accepts by default (DEFENDER_HUNTING_MAX_RESULT_BYTES).
const DefaultMaxResultBytes = 4 << 20

// HuntingService implements defenderv1.HuntingServiceServer.
type HuntingService struct {
	defenderv1.UnimplementedHuntingServiceServer

	resolver       Resolver
	errs           errorReporter
	maxResultBytes int64
	fanout         fanoutSettings
}

var _ defenderv1.HuntingServiceServer = (*HuntingService)(nil)

// HuntingOption configures the hunting service.
type HuntingOption func(*HuntingService)

// WithMaxResultBytes bounds one RunQuery response (n > 0).
func WithMaxResultBytes(n int64) HuntingOption {
	return func(s *HuntingService) {
		if n > 0 {
			s.maxResultBytes = n
		}
	}
}

// NewHuntingService returns the hunting service. log may be nil.
func NewHuntingService(r Resolver, log *slog.Logger, opts ...HuntingOption) *HuntingService {
	s := &HuntingService{resolver: r, errs: errorReporter{log: orDiscard(log)}, maxResultBytes: DefaultMaxResultBytes}
	for _, o := range opts {
		o(s)
	}
	return s
}

// RunQuery runs one advanced hunting query. The timespan is checked against
// the documented ISO 8601 forms, then passes through to the backend, which
// decides whether it supports it (XDR does not). A result larger than the
// response bound fails with RESULT_TOO_LARGE, naming StreamQuery; the
// upstream read stops there.
func (s *HuntingService) RunQuery(ctx context.Context, req *defenderv1.RunQueryRequest) (*defenderv1.RunQueryResponse, error) {
	resp, err := s.runQuery(ctx, req)
	if err != nil {
		return nil, s.errs.fail(ctx, "RunQuery", err)
	}
	return resp, nil
}

func (s *HuntingService) runQuery(ctx context.Context, req *defenderv1.RunQueryRequest) (*defenderv1.RunQueryResponse, error) {
	if req.GetTenant() == wildcardParent {
		return s.runAcross(ctx, req)
	}
	target, q, err := s.huntingQuery(ctx, req.GetTenant(), req.GetQuery(), req.GetTimespan())
	if err != nil {
		return nil, err
	}
	// The upstream body is JSON, a little larger than the same rows in
	// protobuf: reading half as much again lets every result that fits
	// the response through, and stops a far larger one early.
	q.MaxResultBytes = s.maxResultBytes + s.maxResultBytes/2
	result, err := target.Backend.RunHuntingQuery(ctx, q)
	if e, ok := defender.AsError(err); ok && e.Reason == defender.ReasonResultTooLarge {
		return nil, defender.ResultTooLargeError(s.maxResultBytes) // the caller's bound, not the read's
	}
	if err != nil {
		return nil, err
	}
	resp, err := huntingResultToProto(result)
	if err != nil {
		return nil, err
	}
	if int64(proto.Size(resp)) > s.maxResultBytes {
		return nil, defender.ResultTooLargeError(s.maxResultBytes)
	}
	return resp, nil
}

// StreamQuery runs one advanced hunting query and streams its result:
// the schema, batches of rows as the upstream body is decoded, and the end.
func (s *HuntingService) StreamQuery(req *defenderv1.StreamQueryRequest, stream defenderv1.HuntingService_StreamQueryServer) error {
	ctx := stream.Context()
	if err := s.streamQuery(ctx, req, stream); err != nil {
		return s.errs.fail(ctx, "StreamQuery", err)
	}
	return nil
}

func (s *HuntingService) streamQuery(ctx context.Context, req *defenderv1.StreamQueryRequest, stream defenderv1.HuntingService_StreamQueryServer) error {
	target, q, err := s.huntingQuery(ctx, req.GetTenant(), req.GetQuery(), req.GetTimespan())
	if err != nil {
		return err
	}
	send := func(m *defenderv1.StreamQueryResponse) error {
		if err := stream.Send(m); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx) // gone, past its deadline, or not reading
			}
			return err
		}
		return nil
	}
	sink := newBatchSink(send, int(req.GetMaxBatchRows()))
	if err := target.Backend.StreamHuntingQuery(ctx, q, sink); err != nil {
		return err
	}
	return sink.finish()
}

// huntingQuery checks a query's fields and resolves its tenant.
func (s *HuntingService) huntingQuery(ctx context.Context, tenantName, query, timespan string) (authctx.Target, defender.HuntingQuery, error) {
	tenant, err := parseTenantName("tenant", tenantName)
	if err != nil {
		return authctx.Target{}, defender.HuntingQuery{}, err
	}
	if err := checkQuery(query, timespan); err != nil {
		return authctx.Target{}, defender.HuntingQuery{}, err
	}
	if err := checkTimespan(timespan); err != nil {
		return authctx.Target{}, defender.HuntingQuery{}, err
	}
	target, err := resolve(ctx, s.resolver, tenant)
	if err != nil {
		return authctx.Target{}, defender.HuntingQuery{}, err
	}
	return target, defender.HuntingQuery{Query: query, Timespan: timespan}, nil
}
