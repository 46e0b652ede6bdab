package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/policy"
)

// UnaryServerInterceptor records every unary API call; health and
// reflection calls (policy.Public) are not recorded. Put it outside caller
// authentication so that refused calls are recorded too.
func (l *Logger) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if policy.Public(info.FullMethod) {
			return next(ctx, req)
		}
		start := time.Now()
		ctx, s := withSlot(ctx)
		defer recordPanic(func(err error) { l.write(ctx, s, info.FullMethod, req, err, time.Since(start)) })
		resp, err := next(ctx, req)
		l.write(ctx, s, info.FullMethod, req, err, time.Since(start))
		return resp, err
	}
}

// StreamServerInterceptor records every streaming API call, with the
// resource of its first request (a server stream's only one).
func (l *Logger) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		if policy.Public(info.FullMethod) {
			return next(srv, ss)
		}
		start := time.Now()
		ctx, s := withSlot(ss.Context())
		cs := &contextStream{ServerStream: ss, ctx: ctx}
		defer recordPanic(func(err error) { l.write(ctx, s, info.FullMethod, cs.first, err, time.Since(start)) })
		err := next(srv, cs)
		l.write(ctx, s, info.FullMethod, cs.first, err, time.Since(start))
		return err
	}
}

// recordPanic, deferred, records a call whose handler panicked as INTERNAL
// and lets the panic go on to the recovery interceptor outside.
func recordPanic(record func(error)) {
	if p := recover(); p != nil {
		record(status.Error(codes.Internal, "internal error"))
		panic(p)
	}
}

type contextStream struct {
	grpc.ServerStream
	ctx   context.Context
	first any // the first request received, for the record
}

func (s *contextStream) Context() context.Context { return s.ctx }

func (s *contextStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && s.first == nil {
		s.first = m
	}
	return err
}

// write logs the record of one call.
func (l *Logger) write(ctx context.Context, s *slot, method string, req any, err error, latency time.Duration) {
	l.record(ctx, s.req.Load(), method, req, err, latency)
}

// record logs one record: who is the authenticated caller (nil: none),
// extra are attributes put before the code.
func (l *Logger) record(ctx context.Context, who *caller.Request, method string, req any, err error, latency time.Duration, extra ...slog.Attr) {
	st := status.Convert(err)
	resource, requestedTenant, _ := policy.Resource(req)
	identity, display, authContext, tenant := "", "", "", ""
	var touched []string
	if r := who; r != nil {
		identity, display = r.Identity.Name, r.Identity.Display
		authContext, tenant = r.Trace().Target()
		touched = r.Trace().Touched()
	}
	if tenant == "" {
		tenant = requestedTenant
	}
	operation := method
	if rule, ok := policy.MethodRule(method); ok {
		operation = string(rule.Operation)
		if operation == "" {
			operation = "whoami"
		}
	}
	attrs := []slog.Attr{
		slog.String("request_id", l.opts.RequestID(ctx)),
		slog.String("caller", identity),
	}
	if display != "" {
		attrs = append(attrs, slog.String("caller_display", display))
	}
	attrs = append(attrs,
		slog.String("auth_context", authContext),
		slog.String("tenant", tenant),
	)
	if len(touched) > 0 { // a call across tenants (tenants/-)
		attrs = append(attrs, slog.Any("tenants", touched))
	}
	attrs = append(attrs,
		slog.String("method", method),
		slog.String("operation", operation),
	)
	if resource != "" {
		attrs = append(attrs, slog.String("resource", resource))
	}
	if q, ok := req.(interface{ GetQuery() string }); ok { // RunQuery's, StreamQuery's
		sum := sha256.Sum256([]byte(q.GetQuery()))
		attrs = append(attrs, slog.String("query_sha256", hex.EncodeToString(sum[:])))
		if l.opts.QueryText {
			attrs = append(attrs, slog.String("query", q.GetQuery()))
		}
	}
	attrs = append(attrs, extra...)
	attrs = append(attrs, slog.String("code", st.Code().String()))
	if reason := errorReason(st); reason != "" {
		attrs = append(attrs, slog.String("reason", reason))
	}
	attrs = append(attrs, slog.Float64("latency_ms", float64(latency.Microseconds())/1000))
	// A fresh context: the record must not pick up attributes that
	// context-aware handlers add for the call (the request id is explicit).
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "audit", attrs...)
}

// errorReason is the ErrorInfo reason of a status, or "".
func errorReason(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
