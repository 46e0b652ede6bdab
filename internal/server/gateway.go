package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/gen/openapi"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/callerauth"
)

// maxRESTResponse bounds what the REST gateway accepts from the gRPC server:
// hunting results may be up to 50 MB upstream.
const maxRESTResponse = 64 << 20

// newHTTPHandler builds the HTTP API: the REST gateway (calling the gRPC
// server over the in-memory listener, so REST calls pass the same
// interceptors as gRPC calls) behind the HTTP edge (httpedge.go), the
// OpenAPI document, /healthz and /metrics. Every error answer is a
// google.rpc.Status in JSON (resterrors.go). When sandbox is not nil it
// serves /sandbox/ (the sandbox's user-token route).
func newHTTPHandler(inproc inprocListener, hs *health.Server, reg *prometheus.Registry, edge *restEdge, sandbox http.Handler) (http.Handler, *grpc.ClientConn, error) {
	// The client stats handler carries the REST server span's trace
	// context to the gRPC server (which starts its span under it).
	conn, err := inproc.dial(grpc.WithChainUnaryInterceptor(markInvoked), grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
	if err != nil {
		return nil, nil, err
	}
	gw := runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(forwardHeader),
		runtime.WithMetadata(verifiedCertificateMetadata),
		// The edge sets X-Request-Id (the id it forwarded); nothing else
		// of the gRPC response metadata is passed on.
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, restMarshaler),
		runtime.WithErrorHandler(edge.handleError),
		runtime.WithStreamErrorHandler(edge.handleStreamError),
		runtime.WithRoutingErrorHandler(edge.handleRoutingError),
		runtime.WithMiddlewares(edge.authenticate),
		// Both would make grpc-gateway parse a form body before routing,
		// that is before authentication and outside the body cap.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
	)
	ctx := context.Background()
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		defenderv1.RegisterIncidentServiceHandler,
		defenderv1.RegisterHuntingServiceHandler,
		defenderv1.RegisterAuthServiceHandler,
		defenderv1.RegisterQuotaServiceHandler,
		defenderv1.RegisterAlertServiceHandler,
	} {
		if err := register(ctx, gw, conn); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	api := otelhttp.NewHandler(gw, "rest")
	var metrics http.Handler = http.NotFoundHandler()
	if reg != nil {
		metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
	healthz := func(w http.ResponseWriter, r *http.Request) {
		resp, err := hs.Check(r.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			writeStatus(w, http.StatusServiceUnavailable, edgeStatus(codes.Unavailable, ReasonNotServing, "the gateway is not serving", nil))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		path := r.URL.Path
		if strings.HasPrefix(path, "/v1/") {
			edge.serveAPI(w, r, api)
			return
		}
		if sandbox != nil && strings.HasPrefix(path, "/sandbox/") {
			h.Set("Cache-Control", "no-store")
			sandbox.ServeHTTP(w, r)
			return
		}
		var serve http.HandlerFunc
		switch path {
		case "/openapi.json":
			serve = serveOpenAPI
		case "/healthz":
			if hs == nil { // on the admin listener
				writeStatus(w, http.StatusNotFound, notFoundStatus())
				return
			}
			h.Set("Cache-Control", "no-store")
			serve = healthz
		case "/metrics":
			if hs == nil {
				writeStatus(w, http.StatusNotFound, notFoundStatus())
				return
			}
			h.Set("Cache-Control", "no-store")
			serve = metrics.ServeHTTP
		default:
			writeStatus(w, http.StatusNotFound, notFoundStatus())
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeStatus(w, http.StatusMethodNotAllowed, edgeStatus(codes.Unimplemented, ReasonMethodNotAllowed,
				"this path accepts GET and HEAD only", nil))
			return
		}
		serve(w, r)
	}), conn, nil
}

// restMarshaler is the JSON of REST requests and responses.
var restMarshaler = &runtime.JSONPb{
	MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false},
	UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapi.Document)
}

// forwardedHeaders are passed to gRPC metadata under their own lower-case
// names: the request id and the caller's credentials. grpc-gateway itself
// passes Authorization as "authorization"; the matcher must not pass it
// again, or the call would carry two.
var forwardedHeaders = map[string]bool{
	RequestIDHeader:      true,
	caller.HeaderAPIKey:  true,
	caller.HeaderAccount: true,
}

// forwardHeader passes the request id and the caller's credential headers
// to gRPC metadata under the names a gRPC caller uses, and the rest as
// grpc-gateway's DefaultHeaderMatcher does.
var forwardHeader = guardedHeaderMatcher(runtime.DefaultHeaderMatcher)

// guardedHeaderMatcher forwards the credential headers and otherwise asks
// base, refusing whatever base would map onto the internal
// certificate-identity key. (DefaultHeaderMatcher maps no header there
// today; LegacyHeaderMatcher's Grpc-Metadata-* would, and the guard keeps a
// later change of matcher from opening that hole.)
func guardedHeaderMatcher(base runtime.HeaderMatcherFunc) runtime.HeaderMatcherFunc {
	return func(key string) (string, bool) {
		lower := strings.ToLower(key)
		if forwardedHeaders[lower] {
			return lower, true
		}
		if lower == caller.HeaderAuthorization {
			return "", false // grpc-gateway forwards it itself
		}
		mapped, ok := base(key)
		if !ok || strings.HasPrefix(strings.ToLower(mapped), inprocKeyPrefix) {
			return "", false
		}
		return mapped, true
	}
}

// inprocKeyPrefix is the prefix no forwarded header may map to.
const inprocKeyPrefix = "x-defender-gateway-inproc-"

// verifiedCertificateMetadata passes the identity of the client
// certificate the HTTP listener verified (TLS with client CAs) to the gRPC
// side, which believes it only on the in-memory connection.
func verifiedCertificateMetadata(_ context.Context, r *http.Request) metadata.MD {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return metadata.Pairs(inprocCertIdentityKey, callerauth.CertificateIdentity(r.TLS.PeerCertificates[0]))
}
