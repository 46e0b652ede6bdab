package server

import (
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/defender-gateway/gateway/internal/config"
)

// Limits bound what a client may send to the API listeners and how long it
// may hold a connection. A zero field takes the default of the matching
// setting (package config); docs/design.md#transport-limits has the table.
type Limits struct {
	// HTTPMaxHeaderBytes caps the request line and headers (HTTP/2: the
	// header list).
	HTTPMaxHeaderBytes int
	// HTTPReadHeaderTimeout bounds the TLS handshake and the headers;
	// HTTPReadTimeout the whole request, body included.
	HTTPReadHeaderTimeout time.Duration
	HTTPReadTimeout       time.Duration
	// HTTPWriteTimeout is the write deadline of unary routes, from the
	// start of the request (see deadline.go).
	HTTPWriteTimeout time.Duration
	// HTTPIdleTimeout closes idle keep-alive connections.
	HTTPIdleTimeout time.Duration
	// HTTPHuntingWriteTimeout is the write deadline of the REST hunting
	// route when longer than HTTPWriteTimeout; server.New makes it
	// the hunting call timeout plus huntingWriteMargin when zero.
	HTTPHuntingWriteTimeout time.Duration
	// HTTPStreamWriteTimeout is the per-write deadline of the REST
	// streaming routes; server.New sets it to CallTimeouts.StreamWrite.
	HTTPStreamWriteTimeout time.Duration

	// GRPCMaxRecvMsgBytes caps one request message; GRPCMaxHeaderListBytes
	// the metadata of a call; GRPCMaxConcurrentStreams the calls in flight
	// on one connection.
	GRPCMaxRecvMsgBytes      int
	GRPCMaxHeaderListBytes   int
	GRPCMaxConcurrentStreams int
	// GRPCKeepaliveEnforcement is the client ping policy; a zero MinTime
	// takes the default policy (PermitWithoutStream included).
	GRPCKeepaliveEnforcement keepalive.EnforcementPolicy
	// GRPCKeepalive is the connection idle, age and ping parameters; each
	// zero field takes its default.
	GRPCKeepalive keepalive.ServerParameters
}

// grpcHandshakeTimeout bounds a new gRPC connection's TLS handshake and
// HTTP/2 preface, as DEFENDER_HTTP_READ_HEADER_TIMEOUT does on the HTTP
// listener by default.
const grpcHandshakeTimeout = 10 * time.Second

// restHTTP2MaxStreams caps the concurrent requests of one HTTP/2
// connection to the HTTP listener (Go's default, made explicit).
const restHTTP2MaxStreams = 250

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	l.HTTPMaxHeaderBytes = orDefault(l.HTTPMaxHeaderBytes, config.DefaultHTTPMaxHeaderBytes)
	l.HTTPReadHeaderTimeout = orDefault(l.HTTPReadHeaderTimeout, config.DefaultHTTPReadHeaderTimeout)
	l.HTTPReadTimeout = orDefault(l.HTTPReadTimeout, config.DefaultHTTPReadTimeout)
	l.HTTPWriteTimeout = orDefault(l.HTTPWriteTimeout, config.DefaultHTTPWriteTimeout)
	l.HTTPIdleTimeout = orDefault(l.HTTPIdleTimeout, config.DefaultHTTPIdleTimeout)
	l.GRPCMaxRecvMsgBytes = orDefault(l.GRPCMaxRecvMsgBytes, config.DefaultGRPCMaxRecvMsgBytes)
	l.GRPCMaxHeaderListBytes = orDefault(l.GRPCMaxHeaderListBytes, config.DefaultGRPCMaxHeaderListBytes)
	l.GRPCMaxConcurrentStreams = orDefault(l.GRPCMaxConcurrentStreams, config.DefaultGRPCMaxConcurrentStreams)
	if l.GRPCKeepaliveEnforcement.MinTime == 0 {
		l.GRPCKeepaliveEnforcement = keepalive.EnforcementPolicy{
			MinTime:             config.DefaultGRPCKeepaliveMinTime,
			PermitWithoutStream: config.DefaultGRPCKeepalivePermitWithoutStream,
		}
	}
	k := &l.GRPCKeepalive
	k.MaxConnectionIdle = orDefault(k.MaxConnectionIdle, config.DefaultGRPCMaxConnectionIdle)
	k.MaxConnectionAge = orDefault(k.MaxConnectionAge, config.DefaultGRPCMaxConnectionAge)
	k.MaxConnectionAgeGrace = orDefault(k.MaxConnectionAgeGrace, config.DefaultGRPCMaxConnectionAgeGrace)
	k.Time = orDefault(k.Time, config.DefaultGRPCKeepaliveTime)
	k.Timeout = orDefault(k.Timeout, config.DefaultGRPCKeepaliveTimeout)
	return l
}

// grpcNetworkOptions are the limits of the gRPC server of network
// connections.
func (l Limits) grpcNetworkOptions() []grpc.ServerOption {
	return append(l.grpcMessageOptions(),
		grpc.MaxConcurrentStreams(uint32(l.GRPCMaxConcurrentStreams)), //nolint:gosec // validated range
		grpc.KeepaliveEnforcementPolicy(l.GRPCKeepaliveEnforcement),
		grpc.KeepaliveParams(l.GRPCKeepalive),
		grpc.ConnectionTimeout(grpcHandshakeTimeout),
	)
}

// grpcMessageOptions bound messages and metadata. The gRPC server of the
// in-memory connection has only these: its one connection carries every
// REST call, whose connections the HTTP listener's limits already bound.
func (l Limits) grpcMessageOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(l.GRPCMaxRecvMsgBytes),
		grpc.MaxHeaderListSize(uint32(l.GRPCMaxHeaderListBytes)), //nolint:gosec // validated range
	}
}

// httpServer is the API HTTP server. It has no WriteTimeout: the write
// deadline is set per route (deadline.go), so that a streaming route is
// not cut off by the unary bound.
func (l Limits) httpServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           withWriteDeadlines(h, apiWriteRules(l.HTTPWriteTimeout, l.HTTPHuntingWriteTimeout, l.HTTPStreamWriteTimeout)),
		ReadHeaderTimeout: l.HTTPReadHeaderTimeout,
		ReadTimeout:       l.HTTPReadTimeout,
		IdleTimeout:       l.HTTPIdleTimeout,
		MaxHeaderBytes:    l.HTTPMaxHeaderBytes,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: restHTTP2MaxStreams},
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// LogValue is the limits as the serving record shows them.
func (l Limits) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("http_max_header_bytes", l.HTTPMaxHeaderBytes),
		slog.String("http_read_header_timeout", l.HTTPReadHeaderTimeout.String()),
		slog.String("http_read_timeout", l.HTTPReadTimeout.String()),
		slog.String("http_write_timeout", l.HTTPWriteTimeout.String()),
		slog.String("http_idle_timeout", l.HTTPIdleTimeout.String()),
		slog.Int("grpc_max_recv_msg_bytes", l.GRPCMaxRecvMsgBytes),
		slog.Int("grpc_max_header_list_bytes", l.GRPCMaxHeaderListBytes),
		slog.Int("grpc_max_concurrent_streams", l.GRPCMaxConcurrentStreams),
		slog.String("grpc_keepalive_min_time", l.GRPCKeepaliveEnforcement.MinTime.String()),
		slog.Bool("grpc_keepalive_permit_without_stream", l.GRPCKeepaliveEnforcement.PermitWithoutStream),
		slog.String("grpc_max_connection_idle", l.GRPCKeepalive.MaxConnectionIdle.String()),
		slog.String("grpc_max_connection_age", l.GRPCKeepalive.MaxConnectionAge.String()),
		slog.String("grpc_max_connection_age_grace", l.GRPCKeepalive.MaxConnectionAgeGrace.String()),
		slog.String("grpc_keepalive_time", l.GRPCKeepalive.Time.String()),
		slog.String("grpc_keepalive_timeout", l.GRPCKeepalive.Timeout.String()),
	)
}
