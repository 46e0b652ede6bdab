package backends

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
	"github.com/defender-gateway/gateway/internal/defender/graph"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

func TestStatusErrorMapping(t *testing.T) {
	graphBody := func(code, msg string) string {
		return `{"error":{"code":"` + code + `","message":"` + msg + `","innerError":{"date":"2024-01-01T00:00:00","request-id":"inner-req-1","client-request-id":"x"}}}`
	}
	xdrBody := func(code, msg string) string {
		return `{"error":{"code":` + code + `,"message":"` + msg + `","target":"target-guid-1"}}`
	}
	tests := []struct {
		name    string
		backend defender.BackendKind
		op      func(defender.Backend) error
		status  int
		header  map[string]string
		body    string

		kind          defender.ErrorKind
		reason        string
		message       string // exact when set
		messageHas    string
		permission    string
		retryAfter    time.Duration
		code, request string
		messageHasNot string
	}{
		{name: "graph 400 KQL message passes through", backend: defender.BackendGraph, op: hunt, status: 400,
			body: graphBody("BadRequest", "Query could not be parsed at 'whre' on line [1,12]"),
			kind: defender.KindInvalidArgument, reason: defender.ReasonUpstreamBadRequest,
			message: "Query could not be parsed at 'whre' on line [1,12]", code: "BadRequest", request: "inner-req-1"},
		{name: "graph 400 request-id header wins", backend: defender.BackendGraph, op: hunt, status: 400,
			header: map[string]string{"request-id": "hdr-req"}, body: graphBody("BadRequest", "bad"),
			kind: defender.KindInvalidArgument, reason: defender.ReasonUpstreamBadRequest, message: "bad", request: "hdr-req"},
		{name: "400 non-JSON body", backend: defender.BackendGraph, op: hunt, status: 400, body: "<html>nope</html>",
			kind: defender.KindInvalidArgument, reason: defender.ReasonUpstreamBadRequest, messageHas: "HTTP 400", messageHasNot: "html"},
		{name: "xdr 400 message passes through", backend: defender.BackendXDR, op: hunt, status: 400,
			body: xdrBody(`"InvalidInput"`, "Syntax error"), kind: defender.KindInvalidArgument, reason: defender.ReasonUpstreamBadRequest,
			message: "Syntax error", code: "InvalidInput", request: "target-guid-1"},
		{name: "401", backend: defender.BackendGraph, op: get, status: 401, body: graphBody("InvalidAuthenticationToken", "Access token has expired"),
			kind: defender.KindUpstreamAuth, reason: defender.ReasonUpstreamAuth, messageHas: "credentials", messageHasNot: "expired",
			code: "InvalidAuthenticationToken"},
		{name: "graph 403 read", backend: defender.BackendGraph, op: get, status: 403, body: graphBody("Forbidden", "no"),
			kind: defender.KindPermissionDenied, reason: defender.ReasonUpstreamForbidden, permission: "SecurityIncident.Read.All", messageHas: "SecurityIncident.Read.All"},
		{name: "graph 403 update", backend: defender.BackendGraph, op: update, status: 403,
			kind: defender.KindPermissionDenied, reason: defender.ReasonUpstreamForbidden, permission: "SecurityIncident.ReadWrite.All", messageHas: "SecurityIncident.ReadWrite.All"},
		{name: "graph 403 hunting", backend: defender.BackendGraph, op: hunt, status: 403,
			kind: defender.KindPermissionDenied, reason: defender.ReasonUpstreamForbidden, permission: "ThreatHunting.Read.All"},
		{name: "xdr 403 list", backend: defender.BackendXDR, op: list, status: 403,
			kind: defender.KindPermissionDenied, reason: defender.ReasonUpstreamForbidden, permission: "Incident.Read.All", messageHas: "Incident.Read.All"},
		{name: "xdr 403 update", backend: defender.BackendXDR, op: update, status: 403,
			kind: defender.KindPermissionDenied, reason: defender.ReasonUpstreamForbidden, permission: "Incident.ReadWrite.All"},
		{name: "xdr 403 hunting", backend: defender.BackendXDR, op: hunt, status: 403,
			kind: defender.KindPermissionDenied, reason: defender.ReasonUpstreamForbidden, permission: "AdvancedHunting.Read.All"},
		{name: "404", backend: defender.BackendXDR, op: get, status: 404, body: xdrBody(`"ResourceNotFound"`, "Incident 7 was not found"),
			kind: defender.KindNotFound, reason: defender.ReasonNotFound, code: "ResourceNotFound", messageHasNot: "was not found"},
		{name: "graph 404 on a write", backend: defender.BackendGraph, op: update, status: 404, kind: defender.KindNotFound, reason: defender.ReasonNotFound},
		// A listing or a query names no incident: a 404 there is the
		// endpoint or the tenant, not an incident.
		{name: "graph 404 on a listing", backend: defender.BackendGraph, op: list, status: 404,
			kind: defender.KindNotFound, reason: defender.ReasonUpstreamNotFound, messageHas: "API URL"},
		{name: "xdr 404 on a listing", backend: defender.BackendXDR, op: list, status: 404, kind: defender.KindNotFound, reason: defender.ReasonUpstreamNotFound},
		{name: "graph 404 on a query", backend: defender.BackendGraph, op: hunt, status: 404, kind: defender.KindNotFound, reason: defender.ReasonUpstreamNotFound},
		{name: "409 on a write", backend: defender.BackendGraph, op: update, status: 409, kind: defender.KindFailedPrecondition, reason: defender.ReasonEtagMismatch},
		{name: "412 on a write", backend: defender.BackendGraph, op: update, status: 412, kind: defender.KindFailedPrecondition, reason: defender.ReasonEtagMismatch},
		{name: "xdr 409 on a write", backend: defender.BackendXDR, op: update, status: 409, kind: defender.KindFailedPrecondition, reason: defender.ReasonEtagMismatch},
		// No precondition is sent on reads: a 409/412 there is no etag
		// mismatch.
		{name: "409 on a read", backend: defender.BackendGraph, op: get, status: 409, kind: defender.KindUnavailable, reason: defender.ReasonUpstreamConflict},
		{name: "412 on a read", backend: defender.BackendXDR, op: get, status: 412, header: map[string]string{"Retry-After": "3"},
			kind: defender.KindUnavailable, reason: defender.ReasonUpstreamConflict, retryAfter: 3 * time.Second},
		{name: "409 on a listing", backend: defender.BackendXDR, op: list, status: 409, kind: defender.KindUnavailable, reason: defender.ReasonUpstreamConflict},
		{name: "412 on a listing", backend: defender.BackendGraph, op: list, status: 412, kind: defender.KindUnavailable, reason: defender.ReasonUpstreamConflict},
		{name: "409 on a query", backend: defender.BackendGraph, op: hunt, status: 409, kind: defender.KindUnavailable, reason: defender.ReasonUpstreamConflict},
		{name: "429 seconds, numeric code", backend: defender.BackendXDR, op: list, status: 429,
			header: map[string]string{"Retry-After": "17"},
			body:   xdrBody(`"429"`, "API calls quota exceeded! maximum allowed 45 per 00:01:00"),
			kind:   defender.KindThrottled, reason: defender.ReasonThrottled, retryAfter: 17 * time.Second, code: "429"},
		{name: "429 code as a JSON number", backend: defender.BackendXDR, op: list, status: 429, body: xdrBody(`429`, "quota"),
			kind: defender.KindThrottled, reason: defender.ReasonThrottled, code: "429"},
		{name: "429 without Retry-After", backend: defender.BackendGraph, op: list, status: 429,
			kind: defender.KindThrottled, reason: defender.ReasonThrottled},
		{name: "429 huge Retry-After clamped", backend: defender.BackendGraph, op: list, status: 429,
			header: map[string]string{"Retry-After": "999999999999"}, kind: defender.KindThrottled, reason: defender.ReasonThrottled, retryAfter: time.Hour},
		{name: "500", backend: defender.BackendGraph, op: get, status: 500, body: graphBody("InternalServerError", "boom"),
			kind: defender.KindUnavailable, reason: defender.ReasonUnavailable, messageHas: "HTTP 500", messageHasNot: "boom"},
		{name: "503 with Retry-After", backend: defender.BackendXDR, op: get, status: 503, header: map[string]string{"Retry-After": "5"},
			kind: defender.KindUnavailable, reason: defender.ReasonUnavailable, retryAfter: 5 * time.Second},
		{name: "302 is not followed", backend: defender.BackendGraph, op: get, status: 302,
			header: map[string]string{"Location": "https://evil.example/steal"}, kind: defender.KindInternal, reason: defender.ReasonInternal},
		{name: "418 other", backend: defender.BackendGraph, op: get, status: 418, kind: defender.KindInternal, reason: defender.ReasonInternal},
		{name: "upstream echoing the token is redacted", backend: defender.BackendGraph, op: hunt, status: 400,
			body: graphBody("BadRequest", "bad header Bearer "+defendertest.Token), kind: defender.KindInvalidArgument, reason: defender.ReasonUpstreamBadRequest,
			message: "bad header Bearer " + upstream.Redacted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			err := tt.op(newTestBackend(t, tt.backend, srv.URL))
			e := defendertest.MustError(t, err, tt.kind, tt.reason)
			if e.UpstreamStatus != tt.status {
				t.Errorf("UpstreamStatus = %d, want %d", e.UpstreamStatus, tt.status)
			}
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("Message = %q, want %q", e.Message, tt.message)
			}
			if tt.messageHas != "" && !strings.Contains(e.Message, tt.messageHas) {
				t.Errorf("Message = %q, want it to contain %q", e.Message, tt.messageHas)
			}
			if tt.messageHasNot != "" && strings.Contains(e.Error(), tt.messageHasNot) {
				t.Errorf("error %q must not contain %q", e.Error(), tt.messageHasNot)
			}
			if e.Permission != tt.permission {
				t.Errorf("Permission = %q, want %q", e.Permission, tt.permission)
			}
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if tt.code != "" && e.UpstreamCode != tt.code {
				t.Errorf("UpstreamCode = %q, want %q", e.UpstreamCode, tt.code)
			}
			if tt.request != "" && e.RequestID != tt.request {
				t.Errorf("RequestID = %q, want %q", e.RequestID, tt.request)
			}
			if strings.Contains(e.Error(), "$filter") || strings.Contains(e.Error(), "$top") {
				t.Errorf("error shows the query string: %v", e)
			}
		})
	}
}

func TestRetryAfterHTTPDateOverHTTP(t *testing.T) {
	srv, _ := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		w.Header().Set("Retry-After", time.Now().Add(120*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	})
	err := list(newTestBackend(t, defender.BackendGraph, srv.URL))
	e := defendertest.MustError(t, err, defender.KindThrottled, defender.ReasonThrottled)
	if e.RetryAfter < 115*time.Second || e.RetryAfter > 120*time.Second {
		t.Errorf("RetryAfter = %v, want about 2m", e.RetryAfter)
	}
}

func TestTransportErrors(t *testing.T) {
	hang := func(t *testing.T) string {
		srv, _ := defendertest.NewServer(t, func(_ http.ResponseWriter, r *http.Request, _ defendertest.RecordedRequest) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		})
		return srv.URL
	}
	tests := []struct {
		name   string
		setup  func(t *testing.T) (baseURL string, ctx context.Context, client *http.Client)
		kind   defender.ErrorKind
		reason string
	}{
		{"connection reset", func(t *testing.T) (string, context.Context, *http.Client) {
			srv, _ := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					if tc, ok := conn.(*net.TCPConn); ok {
						_ = tc.SetLinger(0) // RST instead of FIN
					}
					_ = conn.Close()
				}
			})
			return srv.URL, context.Background(), &http.Client{}
		}, defender.KindUnavailable, defender.ReasonUnavailable},
		{"connection refused", func(t *testing.T) (string, context.Context, *http.Client) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			_ = l.Close()
			return "http://" + addr, context.Background(), &http.Client{}
		}, defender.KindUnavailable, defender.ReasonUnavailable},
		{"client timeout", func(t *testing.T) (string, context.Context, *http.Client) {
			return hang(t), context.Background(), &http.Client{Timeout: 50 * time.Millisecond}
		}, defender.KindUnavailable, defender.ReasonUnavailable},
		{"caller deadline", func(t *testing.T) (string, context.Context, *http.Client) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			t.Cleanup(cancel)
			return hang(t), ctx, &http.Client{}
		}, defender.KindDeadlineExceeded, defender.ReasonDeadlineExceeded},
		{"caller cancel", func(t *testing.T) (string, context.Context, *http.Client) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			t.Cleanup(cancel)
			return hang(t), ctx, &http.Client{}
		}, defender.KindCanceled, defender.ReasonCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, ctx, client := tt.setup(t)
			g, err := graph.New(defender.ClientOptions{BaseURL: base + "/v1.0", HTTPClient: client, Tokens: defendertest.Tokens})
			if err != nil {
				t.Fatal(err)
			}
			_, err = g.ListIncidents(ctx, defender.ListQuery{PageSize: 10, Filter: defender.IncidentFilter{AssignedTo: "secret-user"}})
			e := defendertest.MustError(t, err, tt.kind, tt.reason)
			if strings.Contains(e.Error(), "secret-user") || strings.Contains(e.Error(), "$top") {
				t.Errorf("error shows the query string: %v", e)
			}
			if e.UpstreamStatus != 0 {
				t.Errorf("UpstreamStatus = %d, want 0", e.UpstreamStatus)
			}
		})
	}
}

func TestTokenErrorsPassThrough(t *testing.T) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) { w.WriteHeader(200) })
	want := defender.Errorf(defender.KindUpstreamAuth, defender.ReasonTokenAcquisition, "entra said no")
	g, err := graph.New(defender.ClientOptions{BaseURL: srv.URL, HTTPClient: &http.Client{},
		Tokens: defender.TokenSourceFunc(func(context.Context) (string, error) { return "", want })})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.GetIncident(context.Background(), "1", false)
	if err != want {
		t.Fatalf("error = %v, want the token source's error unchanged", err)
	}
	if rec.Count() != 0 {
		t.Errorf("%d requests sent without a token", rec.Count())
	}
}

func TestRequestHeaders(t *testing.T) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		defendertest.WriteJSON(w, 200, map[string]any{"value": []any{}})
	})
	var logs bytes.Buffer
	g, err := graph.New(defender.ClientOptions{BaseURL: srv.URL + "/v1.0", HTTPClient: &http.Client{}, Tokens: defendertest.Tokens,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := g.ListIncidents(context.Background(), defender.ListQuery{PageSize: 5, Filter: defender.IncidentFilter{AssignedTo: "who"}}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := rec.All()
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, r := range reqs {
		checks := map[string]string{
			"Authorization": "Bearer " + defendertest.Token,
			"Accept":        "application/json",
			"User-Agent":    "defender-gateway/1",
			"Prefer":        "include-unknown-enum-members",
		}
		for k, want := range checks {
			if got := r.Header.Get(k); got != want {
				t.Errorf("header %s = %q, want %q", k, got, want)
			}
		}
		if id := r.Header.Get("client-request-id"); !guid.MatchString(id) {
			t.Errorf("client-request-id %q is not a v4 GUID", id)
		}
	}
	if len(reqs) != 2 || reqs[0].Header.Get("client-request-id") == reqs[1].Header.Get("client-request-id") {
		t.Errorf("client-request-id must be fresh per request")
	}
	out := logs.String()
	if strings.Count(out, "upstream call") != 2 || !strings.Contains(out, reqs[0].Header.Get("client-request-id")) {
		t.Errorf("logs do not record the calls:\n%s", out)
	}
	if strings.Contains(out, defendertest.Token) || strings.Contains(out, "$top") || strings.Contains(out, "who") {
		t.Errorf("logs show the token or the query:\n%s", out)
	}
}

func TestMalformedSuccessBody(t *testing.T) {
	for _, body := range []string{"{not json", "", `{"value": 7}`} {
		srv, _ := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
			w.WriteHeader(200)
			_, _ = w.Write([]byte(body))
		})
		err := list(newTestBackend(t, defender.BackendGraph, srv.URL))
		defendertest.MustError(t, err, defender.KindUnavailable, defender.ReasonUpstreamMalformed)
	}
}

// Operations used by the error tables.

func newTestBackend(t *testing.T, kind defender.BackendKind, serverURL string) defender.Backend {
	if kind == defender.BackendXDR {
		return newTestXDR(t, serverURL)
	}
	return newTestGraph(t, serverURL+"/v1.0")
}

func get(b defender.Backend) error {
	_, err := b.GetIncident(context.Background(), "7", true)
	return err
}

func list(b defender.Backend) error {
	_, err := b.ListIncidents(context.Background(), defender.ListQuery{PageSize: 10, Filter: defender.IncidentFilter{AssignedTo: "x"}})
	return err
}

func update(b defender.Backend) error {
	s := defender.StatusResolved
	_, err := b.UpdateIncident(context.Background(), "7", defender.IncidentUpdate{Status: &s})
	return err
}

func hunt(b defender.Backend) error {
	_, err := b.RunHuntingQuery(context.Background(), defender.HuntingQuery{Query: "DeviceEvents | take 1"})
	return err
}

func TestStatusErrorKeepsBothUpstreamIDs(t *testing.T) {
	tests := []struct {
		name        string
		echo        bool
		wantRequest string
	}{
		{"echoed client-request-id", true, "graph-req-1"},
		{"client-request-id as sent", false, "graph-req-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, r *http.Request, _ defendertest.RecordedRequest) {
				w.Header().Set("request-id", "graph-req-1")
				if tt.echo {
					w.Header().Set("client-request-id", "echoed-"+r.Header.Get("client-request-id"))
				}
				w.WriteHeader(http.StatusServiceUnavailable)
			})
			e := defendertest.MustError(t, get(newTestBackend(t, defender.BackendGraph, srv.URL)), defender.KindUnavailable, defender.ReasonUnavailable)
			sent := rec.All()[0].Header.Get("client-request-id")
			want := sent
			if tt.echo {
				want = "echoed-" + sent
			}
			if sent == "" || e.ClientRequestID != want || e.RequestID != tt.wantRequest {
				t.Errorf("RequestID %q, ClientRequestID %q; want %q, %q", e.RequestID, e.ClientRequestID, tt.wantRequest, want)
			}
		})
	}
}
