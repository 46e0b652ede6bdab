package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Transport is how the listeners bound what a client may send and how long
// it may hold a connection: the limits an edge proxy would set.
type Transport struct {
	// HTTPMaxBodyBytes caps a REST request body; larger is 413.
	HTTPMaxBodyBytes int64
	// HTTPMaxHeaderBytes caps the request line and headers.
	HTTPMaxHeaderBytes int
	// HTTPReadHeaderTimeout bounds reading the request headers (and the TLS
	// handshake); HTTPReadTimeout bounds reading the whole request.
	HTTPReadHeaderTimeout time.Duration
	HTTPReadTimeout       time.Duration
	// HTTPWriteTimeout bounds a unary route from the start of the request
	// to the last byte of its answer.
	HTTPWriteTimeout time.Duration
	// HTTPIdleTimeout closes a keep-alive connection idle that long.
	HTTPIdleTimeout time.Duration
	// StreamWriteTimeout is the longest one message of a streaming RPC
	// (gRPC, or NDJSON over REST) may take to reach a client that stops
	// reading; then the stream is ended.
	StreamWriteTimeout time.Duration
	// HuntingMaxResultBytes bounds one RunQuery response; a larger result
	// fails with RESULT_TOO_LARGE, naming StreamQuery.
	HuntingMaxResultBytes int64

	// GRPCMaxRecvMsgBytes caps one received message; GRPCMaxHeaderListBytes
	// caps the metadata of a call.
	GRPCMaxRecvMsgBytes    int
	GRPCMaxHeaderListBytes int
	// GRPCMaxConcurrentStreams caps the calls in flight on one connection.
	GRPCMaxConcurrentStreams int
	// GRPCKeepaliveMinTime is the shortest interval between client pings
	// the server tolerates; GRPCKeepalivePermitWithoutStream tolerates them
	// on a connection without calls.
	GRPCKeepaliveMinTime             time.Duration
	GRPCKeepalivePermitWithoutStream bool
	// GRPCMaxConnectionIdle closes a connection without calls that long;
	// GRPCMaxConnectionAge closes any connection that old (with a 10%
	// jitter), after GRPCMaxConnectionAgeGrace for its calls to finish.
	GRPCMaxConnectionIdle     time.Duration
	GRPCMaxConnectionAge      time.Duration
	GRPCMaxConnectionAgeGrace time.Duration
	// GRPCKeepaliveTime is how long a connection may be silent before the
	// server pings it; GRPCKeepaliveTimeout how long it waits for the ack.
	GRPCKeepaliveTime    time.Duration
	GRPCKeepaliveTimeout time.Duration

	// AdminAddr, when set, is the plaintext admin listener (health,
	// metrics, reflection), which the API listeners then no longer serve.
	AdminAddr string
	// Pprof serves Go's runtime profiles under /debug/pprof/ on the admin
	// listener (which it requires).
	Pprof bool
}

// Defaults of the transport settings.
const (
	DefaultHTTPMaxBodyBytes                 = 1 << 20
	DefaultHTTPMaxHeaderBytes               = 64 << 10
	DefaultHTTPReadHeaderTimeout            = 10 * time.Second
	DefaultHTTPReadTimeout                  = 30 * time.Second
	DefaultHTTPWriteTimeout                 = 90 * time.Second
	DefaultHTTPIdleTimeout                  = 120 * time.Second
	DefaultStreamWriteTimeout               = 30 * time.Second
	DefaultHuntingMaxResultBytes            = 4 << 20
	DefaultGRPCMaxRecvMsgBytes              = 4 << 20
	DefaultGRPCMaxHeaderListBytes           = 64 << 10
	DefaultGRPCMaxConcurrentStreams         = 100
	DefaultGRPCKeepaliveMinTime             = 10 * time.Second
	DefaultGRPCKeepalivePermitWithoutStream = true
	DefaultGRPCMaxConnectionIdle            = 5 * time.Minute
	DefaultGRPCMaxConnectionAge             = 30 * time.Minute
	DefaultGRPCMaxConnectionAgeGrace        = 4 * time.Minute
	DefaultGRPCKeepaliveTime                = 2 * time.Minute
	DefaultGRPCKeepaliveTimeout             = 20 * time.Second
)

func defaultTransport() Transport {
	return Transport{
		HTTPMaxBodyBytes:                 DefaultHTTPMaxBodyBytes,
		HTTPMaxHeaderBytes:               DefaultHTTPMaxHeaderBytes,
		HTTPReadHeaderTimeout:            DefaultHTTPReadHeaderTimeout,
		HTTPReadTimeout:                  DefaultHTTPReadTimeout,
		HTTPWriteTimeout:                 DefaultHTTPWriteTimeout,
		HTTPIdleTimeout:                  DefaultHTTPIdleTimeout,
		StreamWriteTimeout:               DefaultStreamWriteTimeout,
		HuntingMaxResultBytes:            DefaultHuntingMaxResultBytes,
		GRPCMaxRecvMsgBytes:              DefaultGRPCMaxRecvMsgBytes,
		GRPCMaxHeaderListBytes:           DefaultGRPCMaxHeaderListBytes,
		GRPCMaxConcurrentStreams:         DefaultGRPCMaxConcurrentStreams,
		GRPCKeepaliveMinTime:             DefaultGRPCKeepaliveMinTime,
		GRPCKeepalivePermitWithoutStream: DefaultGRPCKeepalivePermitWithoutStream,
		GRPCMaxConnectionIdle:            DefaultGRPCMaxConnectionIdle,
		GRPCMaxConnectionAge:             DefaultGRPCMaxConnectionAge,
		GRPCMaxConnectionAgeGrace:        DefaultGRPCMaxConnectionAgeGrace,
		GRPCKeepaliveTime:                DefaultGRPCKeepaliveTime,
		GRPCKeepaliveTimeout:             DefaultGRPCKeepaliveTimeout,
	}
}

// transportSettings are the transport entries of the settings table.
var transportSettings = []setting{
	{env: "DEFENDER_ADMIN_ADDR", flag: "admin-addr", usage: "Plaintext admin listener, host:port: /healthz, /metrics, gRPC health and reflection move there from the API listeners. Empty: none.",
		set: func(c *Config, v string) error { c.Transport.AdminAddr = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_PPROF", flag: "pprof", def: "false", isBool: true, usage: "Serve Go's runtime profiles under /debug/pprof/ on the admin listener (requires DEFENDER_ADMIN_ADDR).",
		set: func(c *Config, v string) error { return setBool(&c.Transport.Pprof, v) }},
	{env: "DEFENDER_HTTP_MAX_BODY_BYTES", flag: "http-max-body-bytes", def: "1048576", usage: "Largest REST request body in bytes; larger is answered 413.",
		set: func(c *Config, v string) error { return setInt64(&c.Transport.HTTPMaxBodyBytes, v) }},
	{env: "DEFENDER_HTTP_MAX_HEADER_BYTES", flag: "http-max-header-bytes", def: "65536", usage: "Largest HTTP request line and headers in bytes; larger is answered 431.",
		set: func(c *Config, v string) error { return setInt(&c.Transport.HTTPMaxHeaderBytes, v) }},
	{env: "DEFENDER_HTTP_READ_HEADER_TIMEOUT", flag: "http-read-header-timeout", def: "10s", usage: "Bound of the TLS handshake and request headers on the HTTP listener.",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.HTTPReadHeaderTimeout, v) }},
	{env: "DEFENDER_HTTP_READ_TIMEOUT", flag: "http-read-timeout", def: "30s", usage: "Bound of reading a whole HTTP request, headers and body.",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.HTTPReadTimeout, v) }},
	{env: "DEFENDER_HTTP_WRITE_TIMEOUT", flag: "http-write-timeout", def: "90s", usage: "Bound of a unary REST route from the start of the request to its answer; longer than DEFENDER_UPSTREAM_TIMEOUT.",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.HTTPWriteTimeout, v) }},
	{env: "DEFENDER_HTTP_IDLE_TIMEOUT", flag: "http-idle-timeout", def: "2m", usage: "Idle keep-alive HTTP connections are closed after this long.",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.HTTPIdleTimeout, v) }},
	{env: "DEFENDER_STREAM_WRITE_TIMEOUT", flag: "stream-write-timeout", def: "30s", usage: "Longest one message of a streaming RPC (gRPC, or NDJSON over REST) may wait on a client that is not reading; then the stream ends (DEADLINE_EXCEEDED, the connection cut on REST).",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.StreamWriteTimeout, v) }},
	{env: "DEFENDER_HUNTING_MAX_RESULT_BYTES", flag: "hunting-max-result-bytes", def: "4194304", usage: "Largest RunQuery response in bytes (a gRPC client accepts 4 MiB by default); a larger result fails with FAILED_PRECONDITION RESULT_TOO_LARGE, naming StreamQuery.",
		set: func(c *Config, v string) error { return setInt64(&c.Transport.HuntingMaxResultBytes, v) }},
	{env: "DEFENDER_GRPC_MAX_RECV_MSG_BYTES", flag: "grpc-max-recv-msg-bytes", def: "4194304", usage: "Largest gRPC request message in bytes; larger is RESOURCE_EXHAUSTED.",
		set: func(c *Config, v string) error { return setInt(&c.Transport.GRPCMaxRecvMsgBytes, v) }},
	{env: "DEFENDER_GRPC_MAX_HEADER_LIST_BYTES", flag: "grpc-max-header-list-bytes", def: "65536", usage: "Largest gRPC metadata (header list) of a call in bytes.",
		set: func(c *Config, v string) error { return setInt(&c.Transport.GRPCMaxHeaderListBytes, v) }},
	{env: "DEFENDER_GRPC_MAX_CONCURRENT_STREAMS", flag: "grpc-max-concurrent-streams", def: "100", usage: "Calls in flight per gRPC connection; more wait on the client.",
		set: func(c *Config, v string) error { return setInt(&c.Transport.GRPCMaxConcurrentStreams, v) }},
	{env: "DEFENDER_GRPC_KEEPALIVE_MIN_TIME", flag: "grpc-keepalive-min-time", def: "10s", usage: "Shortest interval between client keepalive pings; a client pinging more often gets GOAWAY (too_many_pings).",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.GRPCKeepaliveMinTime, v) }},
	{env: "DEFENDER_GRPC_KEEPALIVE_PERMIT_WITHOUT_STREAM", flag: "grpc-keepalive-permit-without-stream", def: "true", isBool: true, usage: "Tolerate client pings on a gRPC connection without calls.",
		set: func(c *Config, v string) error { return setBool(&c.Transport.GRPCKeepalivePermitWithoutStream, v) }},
	{env: "DEFENDER_GRPC_MAX_CONNECTION_IDLE", flag: "grpc-max-connection-idle", def: "5m", usage: "A gRPC connection without calls for this long is closed (GOAWAY).",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.GRPCMaxConnectionIdle, v) }},
	{env: "DEFENDER_GRPC_MAX_CONNECTION_AGE", flag: "grpc-max-connection-age", def: "30m", usage: "A gRPC connection this old (±10%) is asked to reconnect (GOAWAY), which spreads clients over replicas.",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.GRPCMaxConnectionAge, v) }},
	{env: "DEFENDER_GRPC_MAX_CONNECTION_AGE_GRACE", flag: "grpc-max-connection-age-grace", def: "4m", usage: "Time the calls of an aged-out connection get to finish; at least DEFENDER_UPSTREAM_TIMEOUT and DEFENDER_HUNTING_CALL_TIMEOUT.",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.GRPCMaxConnectionAgeGrace, v) }},
	{env: "DEFENDER_GRPC_KEEPALIVE_TIME", flag: "grpc-keepalive-time", def: "2m", usage: "The server pings a gRPC connection silent for this long.",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.GRPCKeepaliveTime, v) }},
	{env: "DEFENDER_GRPC_KEEPALIVE_TIMEOUT", flag: "grpc-keepalive-timeout", def: "20s", usage: "A connection whose ping is not answered within this is closed.",
		set: func(c *Config, v string) error { return setDuration(&c.Transport.GRPCKeepaliveTimeout, v) }},
}

func setInt(n *int, v string) error {
	parsed, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return errors.New("must be a whole number")
	}
	*n = parsed
	return nil
}

func setInt64(n *int64, v string) error {
	parsed, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return errors.New("must be a whole number")
	}
	*n = parsed
	return nil
}

// Upper bounds that catch a unit mistake (bytes for KiB) or a value no
// client needs.
const (
	maxBodyBytesLimit   = 1 << 30
	maxHeaderBytesLimit = 1 << 20
	maxMsgBytesLimit    = 1 << 30
	maxStreamsLimit     = 1 << 16
)

// validateTransport checks the transport settings against each other and
// the upstream timeout.
func (c *Config) validateTransport() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	t := &c.Transport
	between := func(env string, v, lo, hi int64) {
		if v < lo || v > hi {
			add("%s: %d is out of range; use %d to %d", env, v, lo, hi)
		}
	}
	between("DEFENDER_HTTP_MAX_BODY_BYTES", t.HTTPMaxBodyBytes, 1, maxBodyBytesLimit)
	between("DEFENDER_HTTP_MAX_HEADER_BYTES", int64(t.HTTPMaxHeaderBytes), 4<<10, maxHeaderBytesLimit)
	between("DEFENDER_GRPC_MAX_RECV_MSG_BYTES", int64(t.GRPCMaxRecvMsgBytes), 4<<10, maxMsgBytesLimit)
	between("DEFENDER_GRPC_MAX_HEADER_LIST_BYTES", int64(t.GRPCMaxHeaderListBytes), 4<<10, maxHeaderBytesLimit)
	between("DEFENDER_HUNTING_MAX_RESULT_BYTES", t.HuntingMaxResultBytes, 64<<10, maxMsgBytesLimit)
	between("DEFENDER_GRPC_MAX_CONCURRENT_STREAMS", int64(t.GRPCMaxConcurrentStreams), 1, maxStreamsLimit)
	for _, d := range []struct {
		env string
		v   time.Duration
	}{
		{"DEFENDER_HTTP_READ_HEADER_TIMEOUT", t.HTTPReadHeaderTimeout},
		{"DEFENDER_HTTP_READ_TIMEOUT", t.HTTPReadTimeout},
		{"DEFENDER_HTTP_WRITE_TIMEOUT", t.HTTPWriteTimeout},
		{"DEFENDER_HTTP_IDLE_TIMEOUT", t.HTTPIdleTimeout},
		{"DEFENDER_STREAM_WRITE_TIMEOUT", t.StreamWriteTimeout},
		{"DEFENDER_GRPC_KEEPALIVE_MIN_TIME", t.GRPCKeepaliveMinTime},
		{"DEFENDER_GRPC_MAX_CONNECTION_IDLE", t.GRPCMaxConnectionIdle},
		{"DEFENDER_GRPC_MAX_CONNECTION_AGE", t.GRPCMaxConnectionAge},
		{"DEFENDER_GRPC_MAX_CONNECTION_AGE_GRACE", t.GRPCMaxConnectionAgeGrace},
		{"DEFENDER_GRPC_KEEPALIVE_TIME", t.GRPCKeepaliveTime},
		{"DEFENDER_GRPC_KEEPALIVE_TIMEOUT", t.GRPCKeepaliveTimeout},
	} {
		if d.v <= 0 {
			add("%s: must be positive, not %s", d.env, d.v)
		}
	}
	if t.HTTPReadHeaderTimeout > t.HTTPReadTimeout && t.HTTPReadTimeout > 0 {
		add("DEFENDER_HTTP_READ_HEADER_TIMEOUT (%s) is longer than DEFENDER_HTTP_READ_TIMEOUT (%s), which bounds the headers too", t.HTTPReadHeaderTimeout, t.HTTPReadTimeout)
	}
	if t.HTTPWriteTimeout > 0 && c.UpstreamTimeout > 0 && t.HTTPWriteTimeout <= c.UpstreamTimeout {
		add("DEFENDER_HTTP_WRITE_TIMEOUT (%s) must be longer than DEFENDER_UPSTREAM_TIMEOUT (%s), or a slow upstream answer could not reach a REST caller", t.HTTPWriteTimeout, c.UpstreamTimeout)
	}
	if t.GRPCMaxConnectionAgeGrace > 0 && c.UpstreamTimeout > 0 && t.GRPCMaxConnectionAgeGrace < c.UpstreamTimeout {
		add("DEFENDER_GRPC_MAX_CONNECTION_AGE_GRACE (%s) is shorter than DEFENDER_UPSTREAM_TIMEOUT (%s): calls in flight when a connection ages out would be cut off", t.GRPCMaxConnectionAgeGrace, c.UpstreamTimeout)
	}
	if t.GRPCKeepaliveTime > 0 && t.GRPCKeepaliveTime < t.GRPCKeepaliveMinTime {
		add("DEFENDER_GRPC_KEEPALIVE_TIME (%s) is shorter than DEFENDER_GRPC_KEEPALIVE_MIN_TIME (%s), the interval the server demands of its clients", t.GRPCKeepaliveTime, t.GRPCKeepaliveMinTime)
	}
	if t.AdminAddr != "" {
		if err := checkAddr(t.AdminAddr); err != nil {
			add("DEFENDER_ADMIN_ADDR: %w", err)
		} else if sameAddr(t.AdminAddr, c.GRPCAddr) || sameAddr(t.AdminAddr, c.HTTPAddr) {
			add("DEFENDER_ADMIN_ADDR: %s is also an API listener's address", t.AdminAddr)
		}
	}
	if t.Pprof && t.AdminAddr == "" {
		add("DEFENDER_PPROF: requires DEFENDER_ADMIN_ADDR (profiles are never served on the API listeners)")
	}
	return errs
}

// sameAddr reports whether a and b are the same fixed address (port 0
// picks a free port each time, so it never clashes).
func sameAddr(a, b string) bool {
	_, port, err := net.SplitHostPort(a)
	return err == nil && port != "0" && a == b
}

// logAttrs are the transport settings for the configuration log, sizes in
// bytes, durations as Go durations.
func (t Transport) logAttrs() []slog.Attr {
	admin := t.AdminAddr
	if admin == "" {
		admin = "(none: health and metrics on the API listeners)"
	}
	return []slog.Attr{
		slog.String("admin_addr", admin),
		slog.Bool("pprof", t.Pprof),
		slog.Int64("http_max_body_bytes", t.HTTPMaxBodyBytes),
		slog.Int("http_max_header_bytes", t.HTTPMaxHeaderBytes),
		slog.String("http_read_header_timeout", t.HTTPReadHeaderTimeout.String()),
		slog.String("http_read_timeout", t.HTTPReadTimeout.String()),
		slog.String("http_write_timeout", t.HTTPWriteTimeout.String()),
		slog.String("http_idle_timeout", t.HTTPIdleTimeout.String()),
		slog.String("stream_write_timeout", t.StreamWriteTimeout.String()),
		slog.Int64("hunting_max_result_bytes", t.HuntingMaxResultBytes),
		slog.Int("grpc_max_recv_msg_bytes", t.GRPCMaxRecvMsgBytes),
		slog.Int("grpc_max_header_list_bytes", t.GRPCMaxHeaderListBytes),
		slog.Int("grpc_max_concurrent_streams", t.GRPCMaxConcurrentStreams),
		slog.String("grpc_keepalive_min_time", t.GRPCKeepaliveMinTime.String()),
		slog.Bool("grpc_keepalive_permit_without_stream", t.GRPCKeepalivePermitWithoutStream),
		slog.String("grpc_max_connection_idle", t.GRPCMaxConnectionIdle.String()),
		slog.String("grpc_max_connection_age", t.GRPCMaxConnectionAge.String()),
		slog.String("grpc_max_connection_age_grace", t.GRPCMaxConnectionAgeGrace.String()),
		slog.String("grpc_keepalive_time", t.GRPCKeepaliveTime.String()),
		slog.String("grpc_keepalive_timeout", t.GRPCKeepaliveTimeout.String()),
	}
}
