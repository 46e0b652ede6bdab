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
	"github.com/defender-gateway/gateway/internal/policy"
)

// Services are the RPC implementations the server exposes.
type Services struct {
	Incidents defenderv1.IncidentServiceServer
	Hunting   defenderv1.HuntingServiceServer
	Auth      defenderv1.AuthServiceServer
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
	// Sandbox, when set, serves /sandbox/ on the HTTP listener (the
	// sandbox's user-token route); only --sandbox sets it.
	Sandbox http.Handler
}

// Server runs the gRPC and HTTP listeners of the gateway.
type Server struct {
	log             *slog.Logger
	grpc            *grpc.Server
	health          *health.Server
	http            *http.Server
	grpcLis         net.Listener
	httpLis         net.Listener
	inprocLis       inprocListener
	tls             bool
	gatewayConn     *grpc.ClientConn
	shutdownTimeout time.Duration
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
	if opts.Services.Incidents == nil || opts.Services.Hunting == nil || opts.Services.Auth == nil {
		return nil, errors.New("server: every service must be set")
	}

	if opts.TLS != nil && opts.TLS.MinVersion < tls.VersionTLS12 {
		opts.TLS = opts.TLS.Clone()
		opts.TLS.MinVersion = tls.VersionTLS12
	}
	guard, err := newCallerGuard(opts)
	if err != nil {
		return nil, err
	}
	var auditLog *audit.Logger
	if opts.Audit != nil {
		auditLog = opts.Audit.WithRequestID(RequestID)
	}
	chain, err := newInterceptorChain(opts.Logger, opts.Metrics, guard, auditLog)
	if err != nil {
		return nil, err
	}
	serverOpts := chain.serverOptions()
	if opts.TLS != nil {
		serverOpts = append(serverOpts, grpc.Creds(inprocOrTLS{credentials.NewTLS(opts.TLS)}))
	}
	gs := grpc.NewServer(serverOpts...)
	defenderv1.RegisterIncidentServiceServer(gs, opts.Services.Incidents)
	defenderv1.RegisterHuntingServiceServer(gs, opts.Services.Hunting)
	defenderv1.RegisterAuthServiceServer(gs, opts.Services.Auth)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	chain.metrics.InitializeMetrics(gs)
	for name := range gs.GetServiceInfo() {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}

	grpcLis, err := net.Listen("tcp", opts.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("listen gRPC on %s: %w", opts.GRPCAddr, err)
	}
	httpLis, err := net.Listen("tcp", opts.HTTPAddr)
	if err != nil {
		grpcLis.Close()
		return nil, fmt.Errorf("listen HTTP on %s: %w", opts.HTTPAddr, err)
	}
	s := &Server{
		log:             opts.Logger,
		grpc:            gs,
		health:          hs,
		grpcLis:         grpcLis,
		httpLis:         httpLis,
		inprocLis:       newInprocListener(),
		tls:             opts.TLS != nil,
		shutdownTimeout: opts.ShutdownTimeout,
	}
	handler, conn, err := newHTTPHandler(s.inprocLis, hs, opts.Metrics, opts.Sandbox)
	if err != nil {
		grpcLis.Close()
		httpLis.Close()
		s.inprocLis.Close()
		return nil, err
	}
	s.gatewayConn = conn
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	if opts.TLS != nil {
		s.http.TLSConfig = opts.TLS.Clone()
	}
	return s, nil
}

// GRPCAddr is the bound gRPC address.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPAddr is the bound HTTP address.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// Serve serves until ctx is done, then shuts down gracefully: health turns
// NOT_SERVING, new calls are refused, in-flight calls finish within the
// shutdown timeout, after which remaining calls are cut off. It returns the
// first listener error, or nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Add(3)
	for _, lis := range []net.Listener{s.grpcLis, s.inprocLis} {
		go func() {
			defer wg.Done()
			if err := s.grpc.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- fmt.Errorf("gRPC server: %w", err)
			}
		}()
	}
	go func() {
		defer wg.Done()
		var err error
		if s.tls {
			err = s.http.ServeTLS(s.httpLis, "", "")
		} else {
			err = s.http.Serve(s.httpLis)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("HTTP server: %w", err)
		}
	}()
	s.log.Info("serving", "grpc_addr", s.GRPCAddr(), "http_addr", s.HTTPAddr(), "tls", s.tls)

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
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-deadline.Done():
		s.log.Warn("gRPC drain cut short; stopping in-flight calls")
		s.grpc.Stop()
		// Stop closes every connection, but GracefulStop still waits for
		// handlers to return; one that ignores its context must not hold
		// the process forever.
		select {
		case <-stopped:
		case <-time.After(time.Second):
			s.log.Warn("RPC handlers still running after the shutdown timeout; not waiting for them")
		}
	}
	s.gatewayConn.Close()
	s.log.Info("stopped")
}
