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
}

func newInterceptorChain(log *slog.Logger, reg *prometheus.Registry) (*interceptorChain, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	m := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	if err := reg.Register(m); err != nil {
		return nil, err
	}
	return &interceptorChain{log: log, metrics: m, validator: v}, nil
}

// serverOptions returns the gRPC server options in the one place where the
// order of the middleware is decided. Outermost first:
//
//  1. recovery: a panic anywhere below becomes INTERNAL and is logged with
//     its stack; the process keeps serving. A second recovery sits just
//     inside metrics (before auth and validation), so that a handler's
//     panic is also logged and counted as an INTERNAL call, with its
//     request id; the outer one covers the interceptors themselves.
//  2. request id, then logging: every call gets an id (taken from
//     x-request-id or made up), returned in the response header and put on
//     every log record of the call; the call is logged once when it ends.
//  3. metrics (Prometheus) and tracing (OpenTelemetry, as a stats handler so
//     that it sees the wire-level events).
//  4. auth: caller authentication and per-tenant authorization belong here
//     (they arrive with the auth-contexts work; today every caller is let
//     through and the gateway serves only its home tenant).
//  5. validation: protovalidate rules from the proto; an invalid request is
//     answered INVALID_ARGUMENT naming the field before any handler runs.
func (c *interceptorChain) serverOptions() []grpc.ServerOption {
	recoverOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		c.log.ErrorContext(ctx, "panic in RPC handler", "panic", p, "stack", string(debug.Stack()))
		return internalError()
	})
	logger := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		c.log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	// The request id is added to every record by LogHandler.
	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall)}
	return []grpc.ServerOption{
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(
			recovery.UnaryServerInterceptor(recoverOpt),
			unaryRequestID,
			logging.UnaryServerInterceptor(logger, logOpts...),
			c.metrics.UnaryServerInterceptor(),
			recovery.UnaryServerInterceptor(recoverOpt),
			unaryValidate(c.validator),
		),
		grpc.ChainStreamInterceptor(
			recovery.StreamServerInterceptor(recoverOpt),
			streamRequestID,
			logging.StreamServerInterceptor(logger, logOpts...),
			c.metrics.StreamServerInterceptor(),
			recovery.StreamServerInterceptor(recoverOpt),
			streamValidate(c.validator),
		),
	}
}
