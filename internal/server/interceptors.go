package server

import (
	"context"
	"log/slog"
	"runtime/debug"

	"buf.build/go/protovalidate"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/defender-gateway/gateway/internal/audit"
	"github.com/defender-gateway/gateway/internal/telemetry"
)

// internalError is the status of a bug: nothing about the cause reaches the
// caller (it is logged).
func internalError() error {
	st := status.New(codes.Internal, "internal error")
	if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: "INTERNAL", Domain: "defender.gateway"}); err == nil {
		st = withInfo
	}
	return st.Err()
}

// interceptorChain holds the pieces of the gRPC middleware stack.
type interceptorChain struct {
	log       *slog.Logger
	metrics   *grpcprom.ServerMetrics
	validator protovalidate.Validator
	guard     *callerGuard
	audit     *audit.Logger // nil: no audit records
	timeouts  CallTimeouts
	telemetry *telemetry.Metrics // nil: no stream gauges
}

func newInterceptorChain(log *slog.Logger, reg *prometheus.Registry, guard *callerGuard, auditLog *audit.Logger, timeouts CallTimeouts, tm *telemetry.Metrics) (*interceptorChain, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	m := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	if err := reg.Register(m); err != nil {
		return nil, err
	}
	return &interceptorChain{log: log, metrics: m, validator: v, guard: guard, audit: auditLog, timeouts: timeouts, telemetry: tm}, nil
}

// serverOptions returns the gRPC server options in the one place where the
// order of the middleware is decided. Outermost first:
//
//  1. recovery: a panic anywhere below becomes INTERNAL and is logged with
//     its stack; the process keeps serving. A second recovery sits just
//     inside metrics (before audit, auth and validation), so that a handler's
//     panic is also logged and counted as an INTERNAL call, with its
//     request id; the outer one covers the interceptors themselves.
//  2. request id, then logging: every call gets an id (taken from
//     x-request-id or made up), returned in the response header, put on
//     every log record of the call and into the ErrorInfo ("request_id") of
//     every error status it returns, whichever interceptor or handler below
//     made it; the call is logged once when it ends, as one JSON line
//     (calllog.go) with its request id, trace id (when traced), caller,
//     tenant, method, code and latency: authentication and authorization,
//     further in, fill the caller and tenant in a slot of the context.
//  3. metrics (Prometheus: grpcprom's grpc_server_*, then the gauge of
//     server streams in progress by method) and tracing (OpenTelemetry, as
//     a stats handler so that it sees the wire-level events, and the REST
//     gateway's in-memory client too, so that a REST call's spans chain).
//  4. call timeout (calltimeout.go): the call's deadline becomes the
//     sooner of the caller's and DEFENDER_CALL_TIMEOUT (for HuntingService
//     DEFENDER_HUNTING_CALL_TIMEOUT), so a caller without a deadline cannot
//     hold upstream requests and retries forever. A stream also gets the
//     streaming write rule (streaming.go): each message must reach the
//     client within DEFENDER_STREAM_WRITE_TIMEOUT, or the stream ends. It sits inside logging
//     and metrics, which then record a call cut by it as DEADLINE_EXCEEDED
//     with its full duration, and outside everything that may wait
//     (authentication's key fetches, the quota gate, the handler's
//     upstream requests and retries), which it bounds.
//  5. audit: one record per API call (not health or reflection) once it
//     ends, with its caller, tenant, operation, resource, code and reason.
//     It sits outside authentication so that it also records the calls
//     authentication refuses; authentication hands it the caller through a
//     slot in the context (audit.SetCaller).
//  6. caller authentication (package callerauth): the caller's certificate,
//     API key or token becomes a caller.Request in the context; a missing
//     or rejected credential is answered UNAUTHENTICATED (service.ToStatus).
//     The internal metadata that carries a REST caller's verified client
//     certificate is removed here from every call, and believed only on
//     the in-memory connection of the REST gateway. Health and reflection
//     pass unauthenticated. A request whose bytes did not decode (the
//     server codec, codec.go, marks it; the mark is taken first thing in
//     the chain) is answered INVALID_ARGUMENT MALFORMED_REQUEST right after
//     authentication, so it is logged and audited like any refused call.
//  7. authorization (package policy): the policy decides the caller's
//     operation in the tenant the request names; a denial is
//     PERMISSION_DENIED. A refused call never reaches a handler, so no
//     upstream request is made.
//  8. validation: protovalidate rules from the proto; an invalid request is
//     answered INVALID_ARGUMENT naming the field before any handler runs.
//     It runs after authorization, so that an unauthenticated or
//     unauthorized caller learns nothing from validation errors.
func (c *interceptorChain) serverOptions() []grpc.ServerOption {
	recoverOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		c.log.ErrorContext(ctx, "panic in RPC handler", "panic", p, "stack", string(debug.Stack()))
		return internalError()
	})
	logger := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		c.log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	// The request id is added to every record by LogHandler.
	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall), logging.WithFieldsFromContext(logFields)}
	return []grpc.ServerOption{
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		// The proto codec, remembering undecodable requests for the chain.
		grpc.ForceServerCodecV2(newTolerantCodec()),
		grpc.ChainUnaryInterceptor(
			recovery.UnaryServerInterceptor(recoverOpt),
			unaryCollectMalformed,
			unaryRequestID,
			logging.UnaryServerInterceptor(logger, logOpts...),
			c.metrics.UnaryServerInterceptor(),
			unaryCallTimeout(c.timeouts),
			recovery.UnaryServerInterceptor(recoverOpt),
			c.unaryAudit(),
			c.guard.unaryAuthenticate,
			unaryRefuseMalformed,
			c.guard.unaryAuthorize,
			unaryValidate(c.validator),
		),
		grpc.ChainStreamInterceptor(
			recovery.StreamServerInterceptor(recoverOpt),
			streamMalformed,
			streamRequestID,
			logging.StreamServerInterceptor(logger, logOpts...),
			c.metrics.StreamServerInterceptor(),
			streamActive(c.telemetry),
			streamCallTimeout(c.timeouts),
			recovery.StreamServerInterceptor(recoverOpt),
			c.streamAudit(),
			c.guard.streamAuthenticate,
			c.guard.streamAuthorize,
			streamValidate(c.validator),
		),
	}
}

func (c *interceptorChain) unaryAudit() grpc.UnaryServerInterceptor {
	if c.audit == nil {
		return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			return next(ctx, req)
		}
	}
	return c.audit.UnaryServerInterceptor()
}

func (c *interceptorChain) streamAudit() grpc.StreamServerInterceptor {
	if c.audit == nil {
		return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
			return next(srv, ss)
		}
	}
	return c.audit.StreamServerInterceptor()
}
