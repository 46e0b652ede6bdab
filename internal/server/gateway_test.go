package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/gen/openapi"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/server"
	"github.com/defender-gateway/gateway/internal/service"
)

// TestRESTStatusMapping: a handler's gRPC status becomes the matching HTTP
// code with the status (message and every detail) as the JSON body.
func TestRESTStatusMapping(t *testing.T) {
	tests := []struct {
		code     codes.Code
		wantHTTP int
	}{
		{codes.InvalidArgument, http.StatusBadRequest},
		{codes.FailedPrecondition, http.StatusBadRequest},
		{codes.Unauthenticated, http.StatusUnauthorized},
		{codes.PermissionDenied, http.StatusForbidden},
		{codes.NotFound, http.StatusNotFound},
		{codes.Aborted, http.StatusConflict},
		{codes.ResourceExhausted, http.StatusTooManyRequests},
		{codes.Internal, http.StatusInternalServerError},
		{codes.Unimplemented, http.StatusNotImplemented},
		{codes.Unavailable, http.StatusServiceUnavailable},
		{codes.DeadlineExceeded, http.StatusGatewayTimeout},
	}
	// The incident id names the code the fake answers with.
	inc := &fakeIncidents{
		get: func(_ context.Context, r *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
			n, err := strconv.Atoi(lastNumber.FindString(r.GetName()))
			if err != nil {
				return nil, status.Error(codes.Internal, "test: bad name")
			}
			return nil, statusWithDetails(codes.Code(n))
		},
	}
	ts := startServer(t, inc, nil)

	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			id := "status-" + strconv.Itoa(int(tt.code))
			want := stampedStatus(t, statusWithDetails(tt.code), id)
			resp, body := ts.get(t, "/v1/tenants/default/incidents/"+strconv.Itoa(int(tt.code)), map[string]string{"X-Request-Id": id})
			if resp.StatusCode != tt.wantHTTP {
				t.Errorf("HTTP %d, want %d", resp.StatusCode, tt.wantHTTP)
			}
			got := restStatus(t, resp, body)
			if diff := cmp.Diff(want.Proto(), got.Proto(), protocmp.Transform()); diff != "" {
				t.Errorf("REST body status (-want +got):\n%s", diff)
			}

			// gRPC callers get the identical status.
			ctx := metadata.AppendToOutgoingContext(context.Background(), server.RequestIDHeader, id)
			_, err := ts.incidents().GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/" + strconv.Itoa(int(tt.code))})
			if diff := cmp.Diff(want.Proto(), status.Convert(err).Proto(), protocmp.Transform()); diff != "" {
				t.Errorf("gRPC status (-want +got):\n%s", diff)
			}
		})
	}
}

// statusWithDetails is the error a service returns for code: an ErrorInfo,
// a RetryInfo when retrying helps, and a message naming the code.
func statusWithDetails(code codes.Code) error {
	st := status.New(code, "the upstream said "+code.String())
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{
		Reason:   "TEST_" + code.String(),
		Domain:   "defender.gateway",
		Metadata: map[string]string{"code": strconv.Itoa(int(code))},
	}}
	if code == codes.ResourceExhausted || code == codes.Unavailable {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(7 * time.Second)})
	}
	withDetails, err := st.WithDetails(details...)
	if err != nil {
		panic(err)
	}
	return withDetails.Err()
}

// lastNumber is the trailing number of an incident name.
var lastNumber = regexp.MustCompile(`\d+$`)

// TestHTTPEndpoints: the OpenAPI document, /healthz while serving and the
// fallback for unknown paths.
func TestHTTPEndpoints(t *testing.T) {
	ts := startServer(t, nil, nil)

	t.Run("openapi.json", func(t *testing.T) {
		resp, body := ts.get(t, "/openapi.json", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if !bytes.Equal(body, openapi.Document) {
			t.Error("body is not the generated document")
		}
		type param struct {
			Name    string `json:"name"`
			In      string `json:"in"`
			Pattern string `json:"pattern"`
		}
		type operation struct {
			OperationID string  `json:"operationId"`
			Parameters  []param `json:"parameters"`
		}
		var doc struct {
			Swagger string                          `json:"swagger"`
			Paths   map[string]map[string]operation `json:"paths"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		if doc.Swagger != "2.0" {
			t.Errorf("swagger = %q, want 2.0", doc.Swagger)
		}
		// With expand_slashed_path_patterns, protoc-gen-openapiv2 writes a
		// route such as /v1/{name=tenants/*/incidents/*} as the path
		// /v1/tenants/{tenant}/incidents/{incident}: every route has its own
		// path, and each segment is a plain parameter.
		tests := []struct{ path, method, operationID, param, pattern string }{
			{"/v1/tenants/{tenant}/incidents", "get", "IncidentService_ListIncidents", "tenant", ""},
			{"/v1/tenants/{tenant}/incidents/{incident}", "get", "IncidentService_GetIncident", "incident", ""},
			{"/v1/tenants/{tenant}/incidents/{incident}", "patch", "IncidentService_UpdateIncident", "incident", ""},
			{"/v1/tenants/{tenant}:runHuntingQuery", "post", "HuntingService_RunQuery", "tenant", ""},
			{"/v1/contexts", "get", "AuthService_ListContexts", "", ""},
			{"/v1/tenants/{tenant}:whoAmI", "get", "AuthService_WhoAmI", "tenant", ""},
			{"/v1/tenants/{tenant}/deviceLogins", "post", "AuthService_StartDeviceLogin", "tenant", ""},
			{"/v1/tenants/{tenant}/deviceLogins/{deviceLogin}", "get", "AuthService_GetDeviceLogin", "deviceLogin", ""},
			{"/v1/tenants/{tenant}/quota", "get", "QuotaService_GetQuota", "tenant", ""},
		}
		for _, tt := range tests {
			op, ok := doc.Paths[tt.path][tt.method]
			if !ok {
				t.Errorf("no %s %s in paths %v", tt.method, tt.path, slices.Collect(maps.Keys(doc.Paths)))
				continue
			}
			if op.OperationID != tt.operationID {
				t.Errorf("%s %s: operationId %q, want %q", tt.method, tt.path, op.OperationID, tt.operationID)
			}
			if tt.param == "" {
				continue
			}
			i := slices.IndexFunc(op.Parameters, func(p param) bool { return p.Name == tt.param && p.In == "path" })
			if i < 0 || op.Parameters[i].Pattern != tt.pattern {
				t.Errorf("%s %s: path parameter %s = %+v, want pattern %q", tt.method, tt.path, tt.param, op.Parameters, tt.pattern)
			}
		}
	})

	t.Run("healthz", func(t *testing.T) {
		resp, body := ts.get(t, "/healthz", nil)
		if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
			t.Errorf("HTTP %d %q, want 200 \"ok\\n\"", resp.StatusCode, body)
		}
	})

	t.Run("openapi.json is GET only", func(t *testing.T) {
		resp, err := ts.hc.Post(ts.base+"/openapi.json", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /openapi.json: HTTP %d, want 405", resp.StatusCode)
		}
	})

	t.Run("unknown path", func(t *testing.T) {
		resp, _ := ts.get(t, "/nope", nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("HTTP %d, want 404", resp.StatusCode)
		}
	})
}

// TestMetrics: /metrics counts handled calls per method and code, for calls
// made over gRPC and over REST.
func TestMetrics(t *testing.T) {
	inc := &fakeIncidents{
		get: func(context.Context, *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
			// As the services answer: through service.ToStatus.
			return nil, service.ToStatus(defender.Errorf(defender.KindNotFound, defender.ReasonNotFound, "no such incident")).Err()
		},
	}
	ts := startServer(t, inc, nil)
	series := func(method, code string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^grpc_server_handled_total\{grpc_code="` + code + `",grpc_method="` + method +
			`",grpc_service="defender.v1.IncidentService",grpc_type="unary"\} (\d+)$`)
	}
	value := func(t *testing.T, re *regexp.Regexp) int {
		t.Helper()
		resp, body := ts.get(t, "/metrics", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics: HTTP %d", resp.StatusCode)
		}
		m := re.FindSubmatch(body)
		if m == nil {
			t.Fatalf("/metrics has no series %s:\n%s", re, body)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	listOK, getNotFound := series("ListIncidents", "OK"), series("GetIncident", "NotFound")

	if n := value(t, listOK); n != 0 {
		t.Fatalf("before any call ListIncidents OK = %d, want 0", n)
	}
	if _, err := ts.incidents().ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/default"}); err != nil {
		t.Fatal(err)
	}
	if n := value(t, listOK); n != 1 {
		t.Errorf("after one gRPC call ListIncidents OK = %d, want 1", n)
	}
	// REST calls pass the same interceptors.
	if resp, _ := ts.get(t, "/v1/tenants/default/incidents", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("REST list: HTTP %d", resp.StatusCode)
	}
	if n := value(t, listOK); n != 2 {
		t.Errorf("after a REST call too ListIncidents OK = %d, want 2", n)
	}
	if resp, _ := ts.get(t, "/v1/tenants/default/incidents/1", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("REST get: HTTP %d", resp.StatusCode)
	}
	if n := value(t, getNotFound); n != 1 {
		t.Errorf("GetIncident NotFound = %d, want 1", n)
	}
}
