package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/defender-gateway/gateway/internal/audit"
	"github.com/defender-gateway/gateway/internal/server"
)

// restCall is one REST request of the edge tests.
type restCall struct {
	method, path string
	header       map[string]string
	body         io.Reader
	length       int64 // Content-Length; -1 sends the body chunked
}

func (ts *testServer) do(t *testing.T, c restCall) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), c.method, ts.base+c.path, c.body)
	if err != nil {
		t.Fatal(err)
	}
	if c.body != nil {
		req.ContentLength = c.length
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := ts.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", c.method, c.path, err)
	}
	return resp, body
}

// edgeServer is an api-key server with audit records in auditBuf and a
// 1 KiB body cap.
func edgeServer(t *testing.T) (*testServer, *fakeIncidents, *syncBuffer) {
	t.Helper()
	auditBuf := &syncBuffer{}
	inc := whoInc()
	ts := startServer(t, inc, func(o *server.Options) {
		o.CallerAuth, o.Policy = apiKeyAuth(t), testPolicyStore(t)
		o.Audit = audit.New(slog.New(slog.NewJSONHandler(auditBuf, nil)), audit.Options{})
		o.MaxRequestBodyBytes = 1024
	})
	return ts, inc, auditBuf
}

// internalStrings are fragments of Go, gRPC, grpc-gateway and protojson
// error texts that must never reach a caller.
var internalStrings = []string{"grpc:", "proto:", "parsing field", "parsing list", "type mismatch", "http:", "invalid URL escape", "rpc error", "not a valid value", "Unexpected routing error"}

func TestRESTEdgeErrors(t *testing.T) {
	ts, inc, auditBuf := edgeServer(t)
	bot := map[string]string{"X-Api-Key": botKey}
	botJSON := map[string]string{"X-Api-Key": botKey, "Content-Type": "application/json"}
	tests := []struct {
		name       string
		call       restCall
		httpStatus int
		code       codes.Code
		reason     string
		field      string // the BadRequest field violation, if any
		allow      string
	}{
		{"encoded slash in a segment", restCall{method: "GET", path: "/v1/tenants/default%2Fincidents%2F1000", header: bot}, 400, codes.InvalidArgument, server.ReasonInvalidPath, "", ""},
		{"encoded backslash", restCall{method: "GET", path: "/v1/tenants/default/incidents/1%5c2", header: bot}, 400, codes.InvalidArgument, server.ReasonInvalidPath, "", ""},
		{"wrong method", restCall{method: "DELETE", path: "/v1/tenants/default/incidents/1000", header: bot}, 405, codes.Unimplemented, server.ReasonMethodNotAllowed, "", "GET, PATCH"},
		{"wrong method, unauthenticated", restCall{method: "PUT", path: "/v1/tenants/default:runHuntingQuery"}, 405, codes.Unimplemented, server.ReasonMethodNotAllowed, "", "POST"},
		{"unknown route", restCall{method: "GET", path: "/v1/nothing/here", header: bot}, 404, codes.NotFound, server.ReasonRouteNotFound, "", ""},
		{"unauthenticated before the query is parsed", restCall{method: "GET", path: "/v1/tenants/default/incidents?statuses=active"}, 401, codes.Unauthenticated, "CALLER_CREDENTIALS_MISSING", "", ""},
		{"unauthenticated before the body is parsed", restCall{method: "PATCH", path: "/v1/tenants/default/incidents/1", header: map[string]string{"X-Api-Key": "wrong"}, body: strings.NewReader("{not json"), length: 9}, 401, codes.Unauthenticated, "API_KEY_INVALID", "", ""},
		{"user token rejected", restCall{method: "GET", path: "/v1/tenants/default/incidents", header: map[string]string{"X-Api-Key": botKey, "Authorization": "Bearer forged"}}, 401, codes.Unauthenticated, "TOKEN_INVALID", "", ""},
		{"bad enum in the query", restCall{method: "GET", path: "/v1/tenants/default/incidents?statuses=active", header: bot}, 400, codes.InvalidArgument, server.ReasonInvalidArgument, "statuses", ""},
		{"bad integer in the query", restCall{method: "GET", path: "/v1/tenants/default/incidents?pageSize=ten", header: bot}, 400, codes.InvalidArgument, server.ReasonInvalidArgument, "pageSize", ""},
		{"bad timestamp in the query", restCall{method: "GET", path: "/v1/tenants/default/incidents?createTimeRange.startTime=yesterday", header: bot}, 400, codes.InvalidArgument, server.ReasonInvalidArgument, "createTimeRange.startTime", ""},
		{"invalid UTF-8 in the query", restCall{method: "GET", path: "/v1/tenants/default/incidents?assignedTo=%ff", header: bot}, 400, codes.InvalidArgument, server.ReasonInvalidArgument, "assignedTo", ""},
		{"invalid UTF-8 in the path", restCall{method: "GET", path: "/v1/tenants/default/incidents/%ff", header: bot}, 400, codes.InvalidArgument, server.ReasonInvalidArgument, "name", ""},
		{"malformed query", restCall{method: "GET", path: "/v1/tenants/default/incidents?pageSize=%zz", header: bot}, 400, codes.InvalidArgument, server.ReasonInvalidArgument, "query", ""},
		{"body not JSON", restCall{method: "PATCH", path: "/v1/tenants/default/incidents/1", header: botJSON, body: strings.NewReader("{not json"), length: 9}, 400, codes.InvalidArgument, server.ReasonMalformedBody, "body", ""},
		{"unknown body field", restCall{method: "PATCH", path: "/v1/tenants/default/incidents/1", header: botJSON, body: strings.NewReader(`{"colour":"red"}`), length: 16}, 400, codes.InvalidArgument, server.ReasonMalformedBody, "colour", ""},
		{"wrong body type", restCall{method: "PATCH", path: "/v1/tenants/default/incidents/1", header: botJSON, body: strings.NewReader(`{"assignedTo":5}`), length: 16}, 400, codes.InvalidArgument, server.ReasonMalformedBody, "assignedTo", ""},
		{"invalid UTF-8 in the body", restCall{method: "PATCH", path: "/v1/tenants/default/incidents/1", header: botJSON, body: strings.NewReader("{\"assignedTo\":\"\xff\"}"), length: 18}, 400, codes.InvalidArgument, server.ReasonMalformedBody, "body", ""},
		{"bad Grpc-Timeout", restCall{method: "GET", path: "/v1/tenants/default/incidents/1", header: map[string]string{"X-Api-Key": botKey, "Grpc-Timeout": "soon"}}, 400, codes.InvalidArgument, server.ReasonInvalidArgument, "Grpc-Timeout", ""},
		{"multipart body", restCall{method: "PATCH", path: "/v1/tenants/default/incidents/1", header: map[string]string{"X-Api-Key": botKey, "Content-Type": "multipart/form-data; boundary=x"}, body: strings.NewReader("assignedTo=x"), length: 12}, 415, codes.InvalidArgument, server.ReasonUnsupportedMediaType, "", ""},
		// curl -d's default type: the body is read as JSON, never as a form.
		{"url-encoded body read as JSON", restCall{method: "PATCH", path: "/v1/tenants/default/incidents/1", header: map[string]string{"X-Api-Key": botKey, "Content-Type": "application/x-www-form-urlencoded"}, body: strings.NewReader("assignedTo=x"), length: 12}, 400, codes.InvalidArgument, server.ReasonMalformedBody, "", ""},
		{"Content-Length over the cap, unauthenticated", restCall{method: "PATCH", path: "/v1/tenants/default/incidents/1", body: strings.NewReader(strings.Repeat("x", 2048)), length: 2048}, 413, codes.InvalidArgument, server.ReasonRequestTooLarge, "", ""},
		{"chunked body over the cap", restCall{method: "POST", path: "/v1/tenants/default:runHuntingQuery", header: botJSON, body: strings.NewReader(`{"query":"` + strings.Repeat("x", 4096) + `"}`), length: -1}, 413, codes.InvalidArgument, server.ReasonRequestTooLarge, "", ""},
		{"unknown path outside the API", restCall{method: "GET", path: "/nope"}, 404, codes.NotFound, server.ReasonRouteNotFound, "", ""},
		{"wrong method on /healthz", restCall{method: "POST", path: "/healthz"}, 405, codes.Unimplemented, server.ReasonMethodNotAllowed, "", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := ts.do(t, tt.call)
			if resp.StatusCode != tt.httpStatus {
				t.Fatalf("HTTP %d %s, want %d", resp.StatusCode, body, tt.httpStatus)
			}
			st := restStatus(t, resp, body)
			t.Logf("HTTP %d %s", resp.StatusCode, body)
			info := errorInfo(st)
			if st.Code() != tt.code || info.GetReason() != tt.reason || info.GetDomain() != "defender.gateway" {
				t.Errorf("status %v %q %v, want %v %s", st.Code(), st.Message(), info, tt.code, tt.reason)
			}
			if tt.field != "" {
				if fields := badRequestFields(st); !slices.Equal(fields, []string{tt.field}) {
					t.Errorf("field violations %v, want [%s]", fields, tt.field)
				}
				if !strings.HasPrefix(st.Message(), tt.field+": ") {
					t.Errorf("message %q does not name %s", st.Message(), tt.field)
				}
			}
			for _, frag := range internalStrings {
				if strings.Contains(string(body), frag) {
					t.Errorf("body holds the internal text %q: %s", frag, body)
				}
			}
			if got, want := resp.Header.Get("WWW-Authenticate"), tt.reason == "TOKEN_INVALID"; (got == `Bearer realm="defender-gateway"`) != want {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			if got := resp.Header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v lack nosniff or no-store", resp.Header)
			}
			if strings.HasPrefix(tt.call.path, "/v1/") {
				id := resp.Header.Get("X-Request-Id")
				if id == "" || info.GetMetadata()["request_id"] != id {
					t.Errorf("X-Request-Id %q, ErrorInfo request_id %q: want the same id", id, info.GetMetadata()["request_id"])
				}
			}
		})
	}
	if n := inc.calls.Load(); n != 0 {
		t.Errorf("%d refused requests reached the service", n)
	}

	// Every refused /v1/ request has its audit record, and nothing else
	// was recorded (the service saw no call).
	recs := logRecords(t, auditBuf.String())
	var apiCalls int
	for _, tt := range tests {
		if strings.HasPrefix(tt.call.path, "/v1/") {
			apiCalls++
		}
	}
	if len(recs) != apiCalls {
		t.Fatalf("%d audit records, want %d:\n%s", len(recs), apiCalls, auditBuf.String())
	}
	byPath := map[string]map[string]any{}
	for _, rec := range recs {
		key := rec["http_method"].(string) + " " + rec["http_path"].(string)
		if _, seen := byPath[key]; !seen {
			byPath[key] = rec
		}
	}
	for key, want := range map[string]map[string]any{
		"GET /v1/tenants/default/incidents":         {"caller": "", "code": "Unauthenticated", "operation": "incidents.read", "tenant": "default", "method": "/defender.v1.IncidentService/ListIncidents", "http_status": float64(401)},
		"DELETE /v1/tenants/default/incidents/1000": {"code": "Unimplemented", "reason": server.ReasonMethodNotAllowed, "http_status": float64(405)},
		"POST /v1/tenants/default:runHuntingQuery":  {"caller": "api-key:soc-bot", "code": "InvalidArgument", "reason": server.ReasonRequestTooLarge, "operation": "hunting.run", "http_status": float64(413)},
	} {
		rec, ok := byPath[key]
		if !ok {
			t.Errorf("no audit record for %s", key)
			continue
		}
		for k, v := range want {
			if rec[k] != v {
				t.Errorf("%s: audit %s = %v, want %v", key, k, rec[k], v)
			}
		}
		if rec["request_id"] == "" {
			t.Errorf("%s: audit record without request id", key)
		}
	}
}

func TestRESTEdgeSuccessHeaders(t *testing.T) {
	ts, _, auditBuf := edgeServer(t)
	resp, body := ts.do(t, restCall{method: "GET", path: "/v1/tenants/default/incidents/7", header: map[string]string{"X-Api-Key": botKey, "X-Request-Id": "edge-ok-1"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Values("X-Request-Id"); !slices.Equal(got, []string{"edge-ok-1"}) {
		t.Errorf("X-Request-Id = %v, want [edge-ok-1]", got)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", resp.Header)
	}
	recs := logRecords(t, auditBuf.String())
	if len(recs) != 1 || recs[0]["request_id"] != "edge-ok-1" || recs[0]["code"] != "OK" {
		t.Errorf("audit records %v, want one OK with the caller's request id", recs)
	}
	// An unusable id is replaced, and the new one is the gRPC call's too.
	resp, _ = ts.do(t, restCall{method: "GET", path: "/v1/tenants/default/incidents/7", header: map[string]string{"X-Api-Key": botKey, "X-Request-Id": "bad id\twith spaces"}})
	id := resp.Header.Get("X-Request-Id")
	recs = logRecords(t, auditBuf.String())
	if id == "" || id == "bad id\twith spaces" || recs[len(recs)-1]["request_id"] != id {
		t.Errorf("X-Request-Id %q, audit request_id %v: want one new id", id, recs[len(recs)-1]["request_id"])
	}
	resp, _ = ts.do(t, restCall{method: "GET", path: "/openapi.json"})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/openapi.json: HTTP %d, headers %v", resp.StatusCode, resp.Header)
	}
}
