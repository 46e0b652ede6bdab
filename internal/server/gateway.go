package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/gen/openapi"
)

// maxRESTResponse bounds what the REST gateway accepts from the gRPC server:
// hunting results may be up to 50 MB upstream.
const maxRESTResponse = 64 << 20

// newHTTPHandler builds the HTTP API: the REST gateway (dialing the gRPC
// server at grpcTarget, so REST calls pass the same interceptors as gRPC
// calls), the OpenAPI document, /healthz and /metrics.
func newHTTPHandler(grpcTarget string, hs *health.Server, reg *prometheus.Registry) (http.Handler, *grpc.ClientConn, error) {
	conn, err := grpc.NewClient(grpcTarget,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRESTResponse)),
	)
	if err != nil {
		return nil, nil, err
	}
	gw := runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(forwardHeader),
		runtime.WithOutgoingHeaderMatcher(func(key string) (string, bool) {
			if key == RequestIDHeader {
				return "X-Request-Id", true
			}
			return "", false
		}),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
	)
	ctx := context.Background()
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		defenderv1.RegisterIncidentServiceHandler,
		defenderv1.RegisterHuntingServiceHandler,
		defenderv1.RegisterAuthServiceHandler,
	} {
		if err := register(ctx, gw, conn); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}

	mux := http.NewServeMux()
	mux.Handle("/v1/", otelhttp.NewHandler(gw, "rest"))
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		resp, err := hs.Check(r.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			http.Error(w, "not serving", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux, conn, nil
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapi.Document)
}

// forwardHeader passes the request id to gRPC metadata under the same name
// a gRPC caller uses, and the rest as grpc-gateway does by default.
func forwardHeader(key string) (string, bool) {
	if strings.EqualFold(key, RequestIDHeader) {
		return RequestIDHeader, true
	}
	return runtime.DefaultHeaderMatcher(key)
}
