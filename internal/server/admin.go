package server

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
)

// The admin listener (Options.AdminAddr) serves what operators and their
// tools need and callers do not: /healthz, /metrics, gRPC health and gRPC
// reflection. It speaks plaintext HTTP/1.1 and, for gRPC, HTTP/2 without
// TLS (h2c with prior knowledge) on the one port; it is meant for loopback
// or a private network (kubelet probes, Prometheus). When it is set, the
// API listeners serve none of these. Its limits are fixed: it takes no
// request bodies beyond small gRPC messages.
const (
	adminReadHeaderTimeout = 5 * time.Second
	adminReadTimeout       = 10 * time.Second
	adminWriteTimeout      = 30 * time.Second
	adminIdleTimeout       = 60 * time.Second
	adminMaxHeaderBytes    = 16 << 10
	adminMaxRecvMsgBytes   = 64 << 10
	adminMaxStreams        = 16
)

// registerHealthAndMetrics adds /healthz (the health server's overall
// status) and /metrics to mux.
func registerHealthAndMetrics(mux *http.ServeMux, hs *health.Server, reg *prometheus.Registry) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		resp, err := hs.Check(r.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			http.Error(w, "not serving", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}

// services lists the services of several gRPC servers, for reflection.
type services []reflection.ServiceInfoProvider

func (ss services) GetServiceInfo() map[string]grpc.ServiceInfo {
	all := map[string]grpc.ServiceInfo{}
	for _, s := range ss {
		for name, info := range s.GetServiceInfo() {
			all[name] = info
		}
	}
	return all
}

// newAdmin builds the admin HTTP server and its gRPC server, which holds
// health and a reflection service describing api's services too.
func newAdmin(api *grpc.Server, hs *health.Server, reg *prometheus.Registry, withPprof bool, log *slog.Logger) (*http.Server, *grpc.Server) {
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(adminMaxRecvMsgBytes))
	healthpb.RegisterHealthServer(gs, hs)
	opts := reflection.ServerOptions{Services: services{api, gs}}
	reflectionv1.RegisterServerReflectionServer(gs, reflection.NewServerV1(opts))
	reflectionv1alpha.RegisterServerReflectionServer(gs, reflection.NewServer(opts)) //nolint:staticcheck // older clients ask v1alpha

	mux := http.NewServeMux()
	registerHealthAndMetrics(mux, hs, reg)
	if withPprof {
		registerPprof(mux)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isGRPC(r) {
			gs.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	// gRPC health Watch streams are long-lived and send only on a change:
	// no write deadline for gRPC; the HTTP routes are unary.
	rules := func(r *http.Request) writeRule {
		switch {
		case isGRPC(r):
			return writeRule{}
		case withPprof && isPprof(r):
			return writeRule{total: pprofWriteTimeout}
		}
		return writeRule{total: adminWriteTimeout}
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           withWriteDeadlines(handler, rules),
		Protocols:         &protocols,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		ReadTimeout:       adminReadTimeout,
		IdleTimeout:       adminIdleTimeout,
		MaxHeaderBytes:    adminMaxHeaderBytes,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: adminMaxStreams},
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}, gs
}

func isGRPC(r *http.Request) bool {
	return r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}
