package server_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/server"
)

// TestPanicBecomesInternal: a panicking handler is answered INTERNAL
// "internal error" with an ErrorInfo INTERNAL and nothing of the panic value,
// the panic is logged with its stack and request id, and the server keeps
// serving the next call.
func TestPanicBecomesInternal(t *testing.T) {
	const secretish = "panic-value-must-not-reach-the-caller"
	tests := []struct {
		name   string
		panic  func()
		logged string // in the logged panic value
	}{
		{"string", func() { panic(secretish) }, secretish},
		{"error", func() { panic(errors.New(secretish)) }, secretish},
		{"runtime error", func() {
			var m map[string]int
			m[secretish]++
		}, "assignment to entry in nil map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := &fakeIncidents{
				list: func(_ context.Context, r *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
					if r.GetPageSize() == 13 {
						tt.panic()
					}
					return &defenderv1.ListIncidentsResponse{NextPageToken: "after-panic"}, nil
				},
			}
			ts := startServer(t, inc, nil)
			ctx := metadata.AppendToOutgoingContext(context.Background(), server.RequestIDHeader, "panic-call-1")

			_, err := ts.incidents().ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: 13})
			st := status.Convert(err)
			if st.Code() != codes.Internal || st.Message() != "internal error" {
				t.Fatalf("panic answered %v %q, want INTERNAL \"internal error\"", st.Code(), st.Message())
			}
			if ei := errorInfo(st); ei.GetReason() != "INTERNAL" || ei.GetDomain() != "defender.gateway" {
				t.Errorf("ErrorInfo = %v, want reason INTERNAL domain defender.gateway", ei)
			}
			if strings.Contains(err.Error(), secretish) {
				t.Errorf("the panic value reached the caller: %v", err)
			}

			// The same over REST: 500 with the same body.
			resp, body := ts.get(t, "/v1/tenants/default/incidents?pageSize=13", nil)
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("REST panic: HTTP %d, want 500", resp.StatusCode)
			}
			if rst := restStatus(t, resp, body); rst.Code() != codes.Internal || rst.Message() != "internal error" {
				t.Errorf("REST panic: %v %q, want INTERNAL \"internal error\"", rst.Code(), rst.Message())
			}
			if strings.Contains(string(body), secretish) {
				t.Errorf("the panic value reached the REST caller: %s", body)
			}

			// The server is still serving.
			got, err := ts.incidents().ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/default"})
			if err != nil || got.GetNextPageToken() != "after-panic" {
				t.Fatalf("call after the panic: %v, %v; want a normal answer", got, err)
			}

			// The panic is logged with its value and stack, and the call is
			// logged and counted like any failed call; both records carry
			// the call's request id, so that the caller's id finds them.
			var panicLogged, callLogged bool
			for _, rec := range logRecords(t, ts.logs.String()) {
				switch {
				case rec["msg"] == "panic in RPC handler":
					if p, _ := rec["panic"].(string); !strings.Contains(p, tt.logged) {
						t.Errorf("logged panic = %v, want %q", rec["panic"], tt.logged)
					}
					if s, _ := rec["stack"].(string); !strings.Contains(s, "goroutine") {
						t.Errorf("logged stack = %.200q, want a goroutine stack", s)
					}
					if rec["request_id"] == "panic-call-1" {
						panicLogged = true
					}
				case rec["msg"] == "finished call" && rec["request_id"] == "panic-call-1":
					callLogged = true
					if rec["grpc.code"] != "Internal" {
						t.Errorf("finished call logged with grpc.code %v, want Internal", rec["grpc.code"])
					}
				}
			}
			if !panicLogged {
				t.Error(`no "panic in RPC handler" record with request_id panic-call-1`)
			}
			if !callLogged {
				t.Error(`no "finished call" record with request_id panic-call-1`)
			}
			if t.Failed() {
				t.Logf("logs without stacks:\n%s", stackless.ReplaceAllString(ts.logs.String(), `"stack":"..."`))
			}
			resp, body = ts.get(t, "/metrics", nil)
			if !internalListed.Match(body) {
				t.Errorf("/metrics does not count the panicked gRPC and REST calls as Internal (want %s)", internalListed)
			}
		})
	}
}

var (
	stackless      = regexp.MustCompile(`"stack":"[^"]*"`)
	internalListed = regexp.MustCompile(`(?m)^grpc_server_handled_total\{grpc_code="Internal",grpc_method="ListIncidents",[^}]*\} 2$`)
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// TestRequestID: a valid caller id is used, echoed in the gRPC response
// header and the REST X-Request-Id header, and reaches the handler's
// context; an invalid or missing one is replaced by a generated id.
func TestRequestID(t *testing.T) {
	longest := strings.Repeat("a", 128)
	tests := []struct {
		name string
		sent string // "" sends none
		keep bool   // the sent id is the call's id
	}{
		{"none", "", false},
		{"plain", "req-42", true},
		{"every allowed character", "AZaz09._:-", true},
		{"128 chars", longest, true},
		{"129 chars", longest + "a", false},
		{"200 chars", strings.Repeat("x", 200), false},
		{"space", "has space", false},
		{"log injection", `a" level=ERROR msg="forged`, false},
		{"slash", "a/b", false},
	}
	var (
		mu   sync.Mutex
		seen string
	)
	inc := &fakeIncidents{
		list: func(ctx context.Context, _ *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
			mu.Lock()
			seen = server.RequestID(ctx)
			mu.Unlock()
			return &defenderv1.ListIncidentsResponse{}, nil
		},
	}
	handlerID := func() string {
		mu.Lock()
		defer mu.Unlock()
		id := seen
		seen = ""
		return id
	}
	ts := startServer(t, inc, nil)

	check := func(t *testing.T, sent, keep bool, sentID, echoed, inHandler string) {
		t.Helper()
		if echoed != inHandler {
			t.Errorf("response id %q, handler's ctx id %q; want the same", echoed, inHandler)
		}
		switch {
		case keep && echoed != sentID:
			t.Errorf("response id %q, want the caller's %q", echoed, sentID)
		case !keep && !generatedID.MatchString(echoed):
			t.Errorf("response id %q, want a generated 24-hex-digit id", echoed)
		case !keep && sent && echoed == sentID:
			t.Errorf("invalid caller id %q was kept", sentID)
		}
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("grpc", func(t *testing.T) {
				ctx := context.Background()
				if tt.sent != "" {
					ctx = metadata.AppendToOutgoingContext(ctx, server.RequestIDHeader, tt.sent)
				}
				var hdr metadata.MD
				if _, err := ts.incidents().ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default"}, grpc.Header(&hdr)); err != nil {
					t.Fatalf("ListIncidents: %v", err)
				}
				ids := hdr.Get(server.RequestIDHeader)
				if len(ids) != 1 {
					t.Fatalf("response header %s = %q, want one value", server.RequestIDHeader, ids)
				}
				check(t, tt.sent != "", tt.keep, tt.sent, ids[0], handlerID())
			})
			t.Run("rest", func(t *testing.T) {
				hdr := map[string]string{}
				if tt.sent != "" {
					hdr["X-Request-Id"] = tt.sent
				}
				resp, body := ts.get(t, "/v1/tenants/default/incidents", hdr)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
				}
				ids := resp.Header.Values("X-Request-Id")
				if len(ids) != 1 {
					t.Fatalf("X-Request-Id = %q, want one value", ids)
				}
				check(t, tt.sent != "", tt.keep, tt.sent, ids[0], handlerID())
			})
		})
	}

	t.Run("generated ids differ", func(t *testing.T) {
		var a, b metadata.MD
		for _, h := range []*metadata.MD{&a, &b} {
			if _, err := ts.incidents().ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/default"}, grpc.Header(h)); err != nil {
				t.Fatal(err)
			}
		}
		if x, y := a.Get(server.RequestIDHeader), b.Get(server.RequestIDHeader); len(x) != 1 || len(y) != 1 || x[0] == y[0] {
			t.Errorf("two calls without an id got %q and %q, want two different ids", x, y)
		}
	})
}

// TestRequestIDOnError: the id is returned on failed calls too (that is when
// a caller needs it to find the logs), over both transports.
func TestRequestIDOnError(t *testing.T) {
	inc := &fakeIncidents{
		list: func(context.Context, *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
			return nil, status.Error(codes.Unavailable, "upstream down")
		},
	}
	ts := startServer(t, inc, nil)

	ctx := metadata.AppendToOutgoingContext(context.Background(), server.RequestIDHeader, "failing-call")
	var hdr, trl metadata.MD
	_, err := ts.incidents().ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default"}, grpc.Header(&hdr), grpc.Trailer(&trl))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("ListIncidents: %v, want UNAVAILABLE", err)
	}
	// A trailers-only response may carry the id in either place.
	if got := append(hdr.Get(server.RequestIDHeader), trl.Get(server.RequestIDHeader)...); !slices.Contains(got, "failing-call") {
		t.Errorf("gRPC error response carries request ids %q, want failing-call", got)
	}

	resp, _ := ts.get(t, "/v1/tenants/default/incidents", map[string]string{"X-Request-Id": "failing-rest-call"})
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("HTTP %d, want 503", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Request-Id"); got != "failing-rest-call" {
		t.Errorf("REST error X-Request-Id = %q, want failing-rest-call", got)
	}
}

// TestValidation: a request breaking the proto's rules is answered
// INVALID_ARGUMENT naming the field, with BadRequest and ErrorInfo details,
// before the handler runs; over REST it is HTTP 400 with the same status.
func TestValidation(t *testing.T) {
	long := strings.Repeat("a", 254) // the pattern allows 253 after tenants/
	tests := []struct {
		name      string
		req       proto.Message // ListIncidentsRequest or GetIncidentRequest
		restPath  string        // the same request over REST; "" to skip
		wantField string
	}{
		{"bad parent", &defenderv1.ListIncidentsRequest{Parent: "bad"}, "", "parent"},
		{"empty parent", &defenderv1.ListIncidentsRequest{}, "", "parent"},
		{"parent with underscore", &defenderv1.ListIncidentsRequest{Parent: "tenants/b_d"}, "/v1/tenants/b_d/incidents", "parent"},
		{"parent too long", &defenderv1.ListIncidentsRequest{Parent: "tenants/" + long}, "/v1/tenants/" + long + "/incidents", "parent"},
		{"page size 501", &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: 501}, "/v1/tenants/default/incidents?pageSize=501", "page_size"},
		{"negative page size", &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: -1}, "/v1/tenants/default/incidents?pageSize=-1", "page_size"},
		{"bad incident name", &defenderv1.GetIncidentRequest{Name: "incidents/1"}, "", "name"},
	}
	inc := &fakeIncidents{}
	ts := startServer(t, inc, nil)

	checkStatus := func(t *testing.T, st *status.Status, field string) {
		t.Helper()
		if st.Code() != codes.InvalidArgument {
			t.Fatalf("status %v %q, want INVALID_ARGUMENT", st.Code(), st.Message())
		}
		if !strings.Contains(st.Message(), field) {
			t.Errorf("message %q does not name %s", st.Message(), field)
		}
		if fields := badRequestFields(st); !slices.Contains(fields, field) {
			t.Errorf("BadRequest fields %q, want %s", fields, field)
		}
		if ei := errorInfo(st); ei.GetReason() != "INVALID_ARGUMENT" || ei.GetDomain() != "defender.gateway" {
			t.Errorf("ErrorInfo %v, want reason INVALID_ARGUMENT domain defender.gateway", ei)
		}
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := inc.calls.Load()
			var err error
			switch r := tt.req.(type) {
			case *defenderv1.ListIncidentsRequest:
				_, err = ts.incidents().ListIncidents(context.Background(), r)
			case *defenderv1.GetIncidentRequest:
				_, err = ts.incidents().GetIncident(context.Background(), r)
			}
			checkStatus(t, status.Convert(err), tt.wantField)

			if tt.restPath != "" {
				resp, body := ts.get(t, tt.restPath, nil)
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("REST: HTTP %d, want 400: %s", resp.StatusCode, body)
				}
				checkStatus(t, restStatus(t, resp, body), tt.wantField)
			}
			if n := inc.calls.Load() - before; n != 0 {
				t.Errorf("the handler was called %d times for an invalid request", n)
			}
		})
	}

	// A valid request does reach the handler (so the zero count above means
	// something).
	before := inc.calls.Load()
	if _, err := ts.incidents().ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: 500}); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	if inc.calls.Load() != before+1 {
		t.Error("a valid request did not reach the handler")
	}
}
