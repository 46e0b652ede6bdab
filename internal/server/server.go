package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/audit"
	"github.com/defender-gateway/gateway/internal/callerauth"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/policy"
	"github.com/defender-gateway/gateway/internal/telemetry"
)

// Services are the RPC implementations the server exposes.
type Services struct {
	Incidents defenderv1.IncidentServiceServer
	Hunting   defenderv1.HuntingServiceServer
	Auth      defenderv1.AuthServiceServer
	Quota     defenderv1.QuotaServiceServer
	Alerts    defenderv1.AlertServiceServer
}

// Options configure a Server.
type Options struct {
	// GRPCAddr and HTTPAddr are listen addresses; port 0 picks a free port.
	GRPCAddr, HTTPAddr string
	Services           Services
	Logger             *slog.Logger
	// ShutdownTimeout bounds the graceful drain of in-flight calls.
	ShutdownTimeout time.Duration
	// Metrics receives the gRPC and process metrics; nil makes a new registry.
	Metrics *prometheus.Registry
	// Telemetry, when set, counts the server streams in progress
	// (defender_gateway_active_streams); it should be registered on
	// Metrics, which /metrics serves.
	Telemetry *telemetry.Metrics

	// TLS, when set, makes both listeners serve TLS with it (NewTLSConfig);
	// with ClientCAs set, client certificates are verified if given. TLS
	// 1.2 is the minimum whatever MinVersion says.
	TLS *tls.Config
	// CallerAuth authenticates API calls; nil is caller authentication none
	// (every caller is "anonymous").
	CallerAuth *callerauth.Authenticator
	// Policy authorizes API calls; nil allows everything, which is refused
	// unless caller authentication is none.
	Policy *policy.Store
	// Audit records every API call; nil records none.
	Audit *audit.Logger

	// MaxRequestBodyBytes caps a REST request body; 0 is 1 MiB.
	MaxRequestBodyBytes int64
	// Limits bound the API listeners' requests and connections; zero
	// fields take the defaults.
	Limits Limits
	// AdminAddr, when set, is the plaintext admin listener (admin.go): it
	// serves /healthz, /metrics, gRPC health and reflection, and the API
	// listeners then serve none of them.
	AdminAddr string
	// Pprof serves Go's runtime profiles under /debug/pprof/ on the admin
	// listener; without AdminAddr it serves nothing.
	Pprof bool
	// CallTimeouts bound every unary API call (DEFENDER_CALL_TIMEOUT and
	// DEFENDER_HUNTING_CALL_TIMEOUT); zero fields take their defaults.
	CallTimeouts CallTimeouts
	// Sandbox, when set, serves /sandbox/ on the HTTP listener (the
	// sandbox's user-token route); only --sandbox sets it.
	Sandbox http.Handler
	// OnShutdown, when set, runs first when shutdown begins, before the
	// listeners drain: the app fails the calls queued for quota there, so
	// that the drain waits only for calls that are in flight upstream.
	OnShutdown func()
}

// Server runs the gRPC and HTTP listeners of the gateway.
type Server struct {
	log    *slog.Logger
	grpc   *grpc.Server // network connections
	inproc *grpc.Server // the REST gateway's in-memory connection
	health *health.Server
	http   *http.Server
	// admin and adminGRPC serve the admin listener; nil without one.
	admin           *http.Server
	adminGRPC       *grpc.Server
	grpcLis         net.Listener
	httpLis         net.Listener
	adminLis        net.Listener
	inprocLis       inprocListener
	limits          Limits
	tls             bool
	gatewayConn     *grpc.ClientConn
	shutdownTimeout time.Duration
	onShutdown      func()
}

// New builds the servers and binds both listeners, so that Addr methods are
// valid before Serve.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 15 * time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = prometheus.NewRegistry()
		opts.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if opts.Services.Incidents == nil || opts.Services.Hunting == nil || opts.Services.Auth == nil || opts.Services.Quota == nil ||
		opts.Services.Alerts == nil {
		return nil, errors.New("server: every service must be set")
	}

	guard, err := newCallerGuard(opts)
	if err != nil {
		return nil, err
	}
	var auditLog *audit.Logger
	if opts.Audit != nil {
		auditLog = opts.Audit.WithRequestID(RequestID)
	}
	timeouts := opts.CallTimeouts
	timeouts.Default = orDefault(timeouts.Default, config.DefaultCallTimeout)
	timeouts.Hunting = orDefault(timeouts.Hunting, config.DefaultHuntingCallTimeout)
	timeouts.StreamWrite = orDefault(timeouts.StreamWrite, config.DefaultStreamWriteTimeout)
	chain, err := newInterceptorChain(opts.Logger, opts.Metrics, guard, auditLog, timeouts, opts.Telemetry)
	if err != nil {
		return nil, err
	}
	limits := opts.Limits.withDefaults()
	if limits.HTTPHuntingWriteTimeout == 0 {
		limits.HTTPHuntingWriteTimeout = timeouts.Hunting + huntingWriteMargin
	}
	limits.HTTPStreamWriteTimeout = timeouts.StreamWrite
	// Two gRPC servers with the same interceptors and services: one for
	// network connections, with the connection limits, and one for the
	// REST gateway's in-memory connection, which carries every REST call
	// (the HTTP listener bounds those connections).
	networkOpts := append(chain.serverOptions(), limits.grpcNetworkOptions()...)
	if opts.TLS != nil {
		networkOpts = append(networkOpts, grpc.Creds(credentials.NewTLS(listenerTLS(opts.TLS, "h2"))))
	}
	gs := grpc.NewServer(networkOpts...)
	inproc := grpc.NewServer(append(chain.serverOptions(), limits.grpcMessageOptions()...)...)
	for _, srv := range []*grpc.Server{gs, inproc} {
		defenderv1.RegisterIncidentServiceServer(srv, opts.Services.Incidents)
		defenderv1.RegisterHuntingServiceServer(srv, opts.Services.Hunting)
		defenderv1.RegisterAuthServiceServer(srv, opts.Services.Auth)
		defenderv1.RegisterQuotaServiceServer(srv, opts.Services.Quota)
		defenderv1.RegisterAlertServiceServer(srv, opts.Services.Alerts)
	}
	hs := health.NewServer()
	if opts.AdminAddr == "" {
		healthpb.RegisterHealthServer(gs, hs)
		reflection.Register(gs)
	}
	chain.metrics.InitializeMetrics(gs)
	for name := range gs.GetServiceInfo() {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}

	s := &Server{
		log:             opts.Logger,
		grpc:            gs,
		inproc:          inproc,
		health:          hs,
		inprocLis:       newInprocListener(),
		limits:          limits,
		tls:             opts.TLS != nil,
		shutdownTimeout: opts.ShutdownTimeout,
		onShutdown:      opts.OnShutdown,
	}
	if err := s.listen(opts); err != nil {
		return nil, err
	}
	// With an admin listener, /healthz and /metrics are served there only.
	apiHealth, apiMetrics := hs, opts.Metrics
	if opts.AdminAddr != "" {
		apiHealth, apiMetrics = nil, nil
		s.admin, s.adminGRPC = newAdmin(gs, hs, opts.Metrics, opts.Pprof, opts.Logger)
		for name := range s.adminGRPC.GetServiceInfo() {
			hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
		}
	}
	edge, err := newRestEdge(opts.Logger, guard.authn, auditLog, opts.MaxRequestBodyBytes)
	var handler http.Handler
	var conn *grpc.ClientConn
	if err == nil {
		handler, conn, err = newHTTPHandler(s.inprocLis, apiHealth, apiMetrics, edge, opts.Sandbox)
	}
	if err != nil {
		s.closeListeners()
		return nil, err
	}
	s.gatewayConn = conn
	s.http = limits.httpServer(handler, opts.Logger)
	if opts.TLS != nil {
		s.http.TLSConfig = listenerTLS(opts.TLS, "h2", "http/1.1")
	}
	return s, nil
}

// listen binds the API listeners and, when configured, the admin one.
func (s *Server) listen(opts Options) error {
	var err error
	if s.grpcLis, err = net.Listen("tcp", opts.GRPCAddr); err != nil {
		s.closeListeners()
		return fmt.Errorf("listen gRPC on %s: %w", opts.GRPCAddr, err)
	}
	if s.httpLis, err = net.Listen("tcp", opts.HTTPAddr); err != nil {
		s.closeListeners()
		return fmt.Errorf("listen HTTP on %s: %w", opts.HTTPAddr, err)
	}
	if opts.AdminAddr != "" {
		if s.adminLis, err = net.Listen("tcp", opts.AdminAddr); err != nil {
			s.closeListeners()
			return fmt.Errorf("listen admin on %s: %w", opts.AdminAddr, err)
		}
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, lis := range []net.Listener{s.grpcLis, s.httpLis, s.adminLis, s.inprocLis} {
		if lis != nil {
			lis.Close()
		}
	}
}

// GRPCAddr is the bound gRPC address.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPAddr is the bound HTTP address.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// AdminAddr is the bound admin address, or "" without an admin listener.
func (s *Server) AdminAddr() string {
	if s.adminLis == nil {
		return ""
	}
	return s.adminLis.Addr().String()
}

// Serve serves until ctx is done, then shuts down gracefully: health turns
// NOT_SERVING, new calls are refused, in-flight calls finish within the
// shutdown timeout, after which remaining calls are cut off. It returns the
// first listener error, or nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	serveGRPC := func(srv *grpc.Server, lis net.Listener) {
		wg.Go(func() {
			if err := srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- fmt.Errorf("gRPC server: %w", err)
			}
		})
	}
	serveHTTP := func(name string, srv *http.Server, lis net.Listener, useTLS bool) {
		wg.Go(func() {
			var err error
			if useTLS {
				err = srv.ServeTLS(lis, "", "")
			} else {
				err = srv.Serve(lis)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s server: %w", name, err)
			}
		})
	}
	serveGRPC(s.grpc, s.grpcLis)
	serveGRPC(s.inproc, s.inprocLis)
	serveHTTP("HTTP", s.http, s.httpLis, s.tls)
	if s.admin != nil {
		serveHTTP("admin", s.admin, s.adminLis, false)
	}
	s.log.Info("serving", "grpc_addr", s.GRPCAddr(), "http_addr", s.HTTPAddr(), "admin_addr", s.AdminAddr(), "tls", s.tls, "limits", s.limits)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.shutdown()
	wg.Wait()
	return serveErr
}

func (s *Server) shutdown() {
	s.log.Info("shutting down", "timeout", s.shutdownTimeout.String())
	s.health.Shutdown()
	if s.onShutdown != nil {
		s.onShutdown()
	}
	deadline, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()

	// REST first: its in-flight requests are gRPC calls that must still be
	// able to reach the gRPC server while they drain.
	if err := s.http.Shutdown(deadline); err != nil {
		s.log.Warn("HTTP drain cut short", "error", err)
		s.http.Close()
	}
	stopped := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		wg.Go(s.grpc.GracefulStop)
		wg.Go(s.inproc.GracefulStop)
		wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-deadline.Done():
		s.log.Warn("gRPC drain cut short; stopping in-flight calls")
		s.grpc.Stop()
		s.inproc.Stop()
		// Stop closes every connection, but GracefulStop still waits for
		// handlers to return; one that ignores its context must not hold
		// the process forever.
		select {
		case <-stopped:
		case <-time.After(time.Second):
			s.log.Warn("RPC handlers still running after the shutdown timeout; not waiting for them")
		}
	}
	// The admin listener goes last, so that probes see NOT_SERVING while
	// the API drains.
	// Its gRPC server stops first: health Watch streams never end by
	// themselves.
	if s.admin != nil {
		s.adminGRPC.Stop()
		if err := s.admin.Shutdown(deadline); err != nil {
			s.admin.Close()
		}
	}
	s.gatewayConn.Close()
	s.log.Info("stopped")
}
