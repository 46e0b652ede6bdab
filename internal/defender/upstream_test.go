package defender

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
		backend BackendKind
		op      func(Backend) error
		status  int
		header  map[string]string
		body    string

		kind          ErrorKind
		reason        string
		message       string // exact when set
		messageHas    string
		permission    string
		retryAfter    time.Duration
		code, request string
		messageHasNot string
	}{
		{name: "graph 400 KQL message passes through", backend: BackendGraph, op: hunt, status: 400,
			body: graphBody("BadRequest", "Query could not be parsed at 'whre' on line [1,12]"),
			kind: KindInvalidArgument, reason: ReasonUpstreamBadRequest,
			message: "Query could not be parsed at 'whre' on line [1,12]", code: "BadRequest", request: "inner-req-1"},
		{name: "graph 400 request-id header wins", backend: BackendGraph, op: hunt, status: 400,
			header: map[string]string{"request-id": "hdr-req"}, body: graphBody("BadRequest", "bad"),
			kind: KindInvalidArgument, reason: ReasonUpstreamBadRequest, message: "bad", request: "hdr-req"},
		{name: "400 non-JSON body", backend: BackendGraph, op: hunt, status: 400, body: "<html>nope</html>",
			kind: KindInvalidArgument, reason: ReasonUpstreamBadRequest, messageHas: "HTTP 400", messageHasNot: "html"},
		{name: "xdr 400 message passes through", backend: BackendXDR, op: hunt, status: 400,
			body: xdrBody(`"InvalidInput"`, "Syntax error"), kind: KindInvalidArgument, reason: ReasonUpstreamBadRequest,
			message: "Syntax error", code: "InvalidInput", request: "target-guid-1"},
		{name: "401", backend: BackendGraph, op: get, status: 401, body: graphBody("InvalidAuthenticationToken", "Access token has expired"),
			kind: KindUpstreamAuth, reason: ReasonUpstreamAuth, messageHas: "credentials", messageHasNot: "expired",
			code: "InvalidAuthenticationToken"},
		{name: "graph 403 read", backend: BackendGraph, op: get, status: 403, body: graphBody("Forbidden", "no"),
			kind: KindPermissionDenied, reason: ReasonUpstreamForbidden, permission: "SecurityIncident.Read.All", messageHas: "SecurityIncident.Read.All"},
		{name: "graph 403 update", backend: BackendGraph, op: update, status: 403,
			kind: KindPermissionDenied, reason: ReasonUpstreamForbidden, permission: "SecurityIncident.ReadWrite.All", messageHas: "SecurityIncident.ReadWrite.All"},
		{name: "graph 403 hunting", backend: BackendGraph, op: hunt, status: 403,
			kind: KindPermissionDenied, reason: ReasonUpstreamForbidden, permission: "ThreatHunting.Read.All"},
		{name: "xdr 403 list", backend: BackendXDR, op: list, status: 403,
			kind: KindPermissionDenied, reason: ReasonUpstreamForbidden, permission: "Incident.Read.All", messageHas: "Incident.Read.All"},
		{name: "xdr 403 update", backend: BackendXDR, op: update, status: 403,
			kind: KindPermissionDenied, reason: ReasonUpstreamForbidden, permission: "Incident.ReadWrite.All"},
		{name: "xdr 403 hunting", backend: BackendXDR, op: hunt, status: 403,
			kind: KindPermissionDenied, reason: ReasonUpstreamForbidden, permission: "AdvancedHunting.Read.All"},
		{name: "404", backend: BackendXDR, op: get, status: 404, body: xdrBody(`"ResourceNotFound"`, "Incident 7 was not found"),
			kind: KindNotFound, reason: ReasonNotFound, code: "ResourceNotFound", messageHasNot: "was not found"},
		{name: "graph 404 on a write", backend: BackendGraph, op: update, status: 404, kind: KindNotFound, reason: ReasonNotFound},
		// A listing or a query names no incident: a 404 there is the
		// endpoint or the tenant, not an incident.
		{name: "graph 404 on a listing", backend: BackendGraph, op: list, status: 404,
			kind: KindNotFound, reason: ReasonUpstreamNotFound, messageHas: "API URL"},
		{name: "xdr 404 on a listing", backend: BackendXDR, op: list, status: 404, kind: KindNotFound, reason: ReasonUpstreamNotFound},
		{name: "graph 404 on a query", backend: BackendGraph, op: hunt, status: 404, kind: KindNotFound, reason: ReasonUpstreamNotFound},
		{name: "409 on a write", backend: BackendGraph, op: update, status: 409, kind: KindFailedPrecondition, reason: ReasonEtagMismatch},
		{name: "412 on a write", backend: BackendGraph, op: update, status: 412, kind: KindFailedPrecondition, reason: ReasonEtagMismatch},
		{name: "xdr 409 on a write", backend: BackendXDR, op: update, status: 409, kind: KindFailedPrecondition, reason: ReasonEtagMismatch},
		// No precondition is sent on reads: a 409/412 there is no etag
		// mismatch.
		{name: "409 on a read", backend: BackendGraph, op: get, status: 409, kind: KindUnavailable, reason: ReasonUpstreamConflict},
		{name: "412 on a read", backend: BackendXDR, op: get, status: 412, header: map[string]string{"Retry-After": "3"},
			kind: KindUnavailable, reason: ReasonUpstreamConflict, retryAfter: 3 * time.Second},
		{name: "409 on a listing", backend: BackendXDR, op: list, status: 409, kind: KindUnavailable, reason: ReasonUpstreamConflict},
		{name: "412 on a listing", backend: BackendGraph, op: list, status: 412, kind: KindUnavailable, reason: ReasonUpstreamConflict},
		{name: "409 on a query", backend: BackendGraph, op: hunt, status: 409, kind: KindUnavailable, reason: ReasonUpstreamConflict},
		{name: "429 seconds, numeric code", backend: BackendXDR, op: list, status: 429,
			header: map[string]string{"Retry-After": "17"},
			body:   xdrBody(`"429"`, "API calls quota exceeded! maximum allowed 45 per 00:01:00"),
			kind:   KindThrottled, reason: ReasonThrottled, retryAfter: 17 * time.Second, code: "429"},
		{name: "429 code as a JSON number", backend: BackendXDR, op: list, status: 429, body: xdrBody(`429`, "quota"),
			kind: KindThrottled, reason: ReasonThrottled, code: "429"},
		{name: "429 without Retry-After", backend: BackendGraph, op: list, status: 429,
			kind: KindThrottled, reason: ReasonThrottled},
		{name: "429 huge Retry-After clamped", backend: BackendGraph, op: list, status: 429,
			header: map[string]string{"Retry-After": "999999999999"}, kind: KindThrottled, reason: ReasonThrottled, retryAfter: time.Hour},
		{name: "500", backend: BackendGraph, op: get, status: 500, body: graphBody("InternalServerError", "boom"),
			kind: KindUnavailable, reason: ReasonUnavailable, messageHas: "HTTP 500", messageHasNot: "boom"},
		{name: "503 with Retry-After", backend: BackendXDR, op: get, status: 503, header: map[string]string{"Retry-After": "5"},
			kind: KindUnavailable, reason: ReasonUnavailable, retryAfter: 5 * time.Second},
		{name: "302 is not followed", backend: BackendGraph, op: get, status: 302,
			header: map[string]string{"Location": "https://evil.example/steal"}, kind: KindInternal, reason: ReasonInternal},
		{name: "418 other", backend: BackendGraph, op: get, status: 418, kind: KindInternal, reason: ReasonInternal},
		{name: "upstream echoing the token is redacted", backend: BackendGraph, op: hunt, status: 400,
			body: graphBody("BadRequest", "bad header Bearer "+testToken), kind: KindInvalidArgument, reason: ReasonUpstreamBadRequest,
			message: "bad header Bearer " + redacted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			err := tt.op(newTestBackend(t, tt.backend, srv.URL))
			e := mustError(t, err, tt.kind, tt.reason)
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
	srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
		w.Header().Set("Retry-After", time.Now().Add(120*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	})
	err := list(newTestBackend(t, BackendGraph, srv.URL))
	e := mustError(t, err, KindThrottled, ReasonThrottled)
	if e.RetryAfter < 115*time.Second || e.RetryAfter > 120*time.Second {
		t.Errorf("RetryAfter = %v, want about 2m", e.RetryAfter)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"30", 30 * time.Second},
		{" 30 ", 30 * time.Second},
		{"3600", time.Hour},
		{"7200", time.Hour},
		{"Fri, 01 Mar 2024 12:00:45 GMT", 45 * time.Second},
		{"Fri, 01 Mar 2024 11:00:00 GMT", 0},
		{"Sat, 02 Mar 2024 12:00:00 GMT", time.Hour},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestTransportErrors(t *testing.T) {
	hang := func(t *testing.T) string {
		srv, _ := newServer(t, func(_ http.ResponseWriter, r *http.Request, _ recordedRequest) {
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
		kind   ErrorKind
		reason string
	}{
		{"connection reset", func(t *testing.T) (string, context.Context, *http.Client) {
			srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					if tc, ok := conn.(*net.TCPConn); ok {
						_ = tc.SetLinger(0) // RST instead of FIN
					}
					_ = conn.Close()
				}
			})
			return srv.URL, context.Background(), &http.Client{}
		}, KindUnavailable, ReasonUnavailable},
		{"connection refused", func(t *testing.T) (string, context.Context, *http.Client) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			_ = l.Close()
			return "http://" + addr, context.Background(), &http.Client{}
		}, KindUnavailable, ReasonUnavailable},
		{"client timeout", func(t *testing.T) (string, context.Context, *http.Client) {
			return hang(t), context.Background(), &http.Client{Timeout: 50 * time.Millisecond}
		}, KindUnavailable, ReasonUnavailable},
		{"caller deadline", func(t *testing.T) (string, context.Context, *http.Client) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			t.Cleanup(cancel)
			return hang(t), ctx, &http.Client{}
		}, KindDeadlineExceeded, ReasonDeadlineExceeded},
		{"caller cancel", func(t *testing.T) (string, context.Context, *http.Client) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			t.Cleanup(cancel)
			return hang(t), ctx, &http.Client{}
		}, KindCanceled, ReasonCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, ctx, client := tt.setup(t)
			g, err := NewGraph(ClientOptions{BaseURL: base + "/v1.0", HTTPClient: client, Tokens: testTokens})
			if err != nil {
				t.Fatal(err)
			}
			_, err = g.ListIncidents(ctx, ListQuery{PageSize: 10, Filter: IncidentFilter{AssignedTo: "secret-user"}})
			e := mustError(t, err, tt.kind, tt.reason)
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
	srv, rec := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) { w.WriteHeader(200) })
	want := Errorf(KindUpstreamAuth, ReasonTokenAcquisition, "entra said no")
	g, err := NewGraph(ClientOptions{BaseURL: srv.URL, HTTPClient: &http.Client{},
		Tokens: TokenSourceFunc(func(context.Context) (string, error) { return "", want })})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.GetIncident(context.Background(), "1", false)
	if err != want {
		t.Fatalf("error = %v, want the token source's error unchanged", err)
	}
	if rec.count() != 0 {
		t.Errorf("%d requests sent without a token", rec.count())
	}
}

func TestRequestHeaders(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
		writeJSON(w, 200, map[string]any{"value": []any{}})
	})
	var logs bytes.Buffer
	g, err := NewGraph(ClientOptions{BaseURL: srv.URL + "/v1.0", HTTPClient: &http.Client{}, Tokens: testTokens,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := g.ListIncidents(context.Background(), ListQuery{PageSize: 5, Filter: IncidentFilter{AssignedTo: "who"}}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := rec.all()
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, r := range reqs {
		checks := map[string]string{
			"Authorization": "Bearer " + testToken,
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
	if strings.Contains(out, testToken) || strings.Contains(out, "$top") || strings.Contains(out, "who") {
		t.Errorf("logs show the token or the query:\n%s", out)
	}
}

func TestMalformedSuccessBody(t *testing.T) {
	for _, body := range []string{"{not json", "", `{"value": 7}`} {
		srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
			w.WriteHeader(200)
			_, _ = w.Write([]byte(body))
		})
		err := list(newTestBackend(t, BackendGraph, srv.URL))
		mustError(t, err, KindUnavailable, ReasonUpstreamMalformed)
	}
}

// Operations used by the error tables.

func newTestBackend(t *testing.T, kind BackendKind, serverURL string) Backend {
	if kind == BackendXDR {
		return newTestXDR(t, serverURL)
	}
	return newTestGraph(t, serverURL+"/v1.0")
}

func get(b Backend) error {
	_, err := b.GetIncident(context.Background(), "7", true)
	return err
}

func list(b Backend) error {
	_, err := b.ListIncidents(context.Background(), ListQuery{PageSize: 10, Filter: IncidentFilter{AssignedTo: "x"}})
	return err
}

func update(b Backend) error {
	s := StatusResolved
	_, err := b.UpdateIncident(context.Background(), "7", IncidentUpdate{Status: &s})
	return err
}

func hunt(b Backend) error {
	_, err := b.RunHuntingQuery(context.Background(), HuntingQuery{Query: "DeviceEvents | take 1"})
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
			srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, _ recordedRequest) {
				w.Header().Set("request-id", "graph-req-1")
				if tt.echo {
					w.Header().Set("client-request-id", "echoed-"+r.Header.Get("client-request-id"))
				}
				w.WriteHeader(http.StatusServiceUnavailable)
			})
			e := mustError(t, get(newTestBackend(t, BackendGraph, srv.URL)), KindUnavailable, ReasonUnavailable)
			sent := rec.all()[0].Header.Get("client-request-id")
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
