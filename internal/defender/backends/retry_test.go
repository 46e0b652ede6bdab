package backends

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
	"github.com/defender-gateway/gateway/internal/defender/graph"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
	"github.com/defender-gateway/gateway/internal/defender/xdr"
)

var testPolicy = defender.RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 10 * time.Second}

// sleeps records the waits of a retrying client instead of sleeping.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// retryingBackend is a client of kind with testPolicy, whose waits are
// recorded and whose jitter is always the whole backoff.
func retryingBackend(t *testing.T, kind defender.BackendKind, url string, opts ...func(*defender.ClientOptions)) (defender.Backend, *sleeps) {
	t.Helper()
	o := defender.ClientOptions{BaseURL: url, HTTPClient: &http.Client{}, Tokens: defendertest.Tokens, Retry: testPolicy}
	for _, f := range opts {
		f(&o)
	}
	b, err := New(kind, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := &sleeps{}
	up := upstreamOf(b)
	up.Sleep = s.sleep
	up.Rand = func(n int64) int64 { return n - 1 }
	return b, s
}

func upstreamOf(b defender.Backend) *upstream.Client {
	switch b := b.(type) {
	case *graph.Graph:
		return b.Upstream()
	case *xdr.XDR:
		return b.Upstream()
	}
	panic("unknown backend")
}

// step is one scripted answer of a test server.
type step struct {
	status int
	header map[string]string
	body   string
	reset  bool // cut the connection instead of answering
}

// scripted answers each request with the next step, the last one repeated.
func scripted(t *testing.T, steps ...step) (string, *defendertest.Recorder) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		mu.Lock()
		s := steps[min(n, len(steps)-1)]
		n++
		mu.Unlock()
		if s.reset {
			resetConn(t, w)
			return
		}
		for k, v := range s.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(s.status)
		_, _ = w.Write([]byte(s.body))
	})
	return srv.URL, rec
}

// resetConn closes the request's connection with a TCP reset.
func resetConn(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

const okIncident = `{"id":"7","status":"active"}`

func TestRetryCounts(t *testing.T) {
	tests := []struct {
		name     string
		steps    []step
		requests int
		kind     defender.ErrorKind // checked when reason is set
		reason   string
		waits    []time.Duration
	}{
		{name: "success at once", steps: []step{{status: 200, body: okIncident}}, requests: 1},
		{name: "500 then success", steps: []step{{status: 500}, {status: 200, body: okIncident}}, requests: 2,
			waits: []time.Duration{100 * time.Millisecond}},
		{name: "502, 504, 503 then success", steps: []step{{status: 502}, {status: 504}, {status: 503}, {status: 200, body: okIncident}},
			requests: 4, waits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}},
		{name: "500 outlasts the attempts", steps: []step{{status: 500}}, requests: 4,
			kind: defender.KindUnavailable, reason: defender.ReasonUnavailable},
		{name: "reset then success", steps: []step{{reset: true}, {status: 200, body: okIncident}}, requests: 2,
			waits: []time.Duration{100 * time.Millisecond}},
		{name: "malformed then success", steps: []step{{status: 200, body: `{"id":`}, {status: 200, body: okIncident}}, requests: 2,
			waits: []time.Duration{100 * time.Millisecond}},
		{name: "malformed outlasts the attempts", steps: []step{{status: 200, body: `{"id":`}}, requests: 4,
			kind: defender.KindUnavailable, reason: defender.ReasonUpstreamMalformed},
		{name: "429 waits its Retry-After", steps: []step{{status: 429, header: map[string]string{"Retry-After": "3"}}, {status: 200, body: okIncident}},
			requests: 2, waits: []time.Duration{3 * time.Second}},
		{name: "429 longer than the max delay is returned", steps: []step{{status: 429, header: map[string]string{"Retry-After": "60"}}},
			requests: 1, kind: defender.KindThrottled, reason: defender.ReasonThrottled},
		{name: "503 waits its Retry-After", steps: []step{{status: 503, header: map[string]string{"Retry-After": "2"}}, {status: 200, body: okIncident}},
			requests: 2, waits: []time.Duration{2 * time.Second}},
		{name: "400 is not retried", steps: []step{{status: 400}}, requests: 1, kind: defender.KindInvalidArgument, reason: defender.ReasonUpstreamBadRequest},
		{name: "404 is not retried", steps: []step{{status: 404}}, requests: 1, kind: defender.KindNotFound, reason: defender.ReasonNotFound},
		{name: "401 is not retried", steps: []step{{status: 401}}, requests: 1, kind: defender.KindUpstreamAuth, reason: defender.ReasonUpstreamAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, rec := scripted(t, tt.steps...)
			b, s := retryingBackend(t, defender.BackendGraph, url)
			_, err := b.GetIncident(context.Background(), "7", false)
			if tt.reason != "" {
				defendertest.MustError(t, err, tt.kind, tt.reason)
			} else if err != nil {
				t.Fatalf("GetIncident: %v", err)
			}
			if got := rec.Count(); got != tt.requests {
				t.Errorf("requests = %d, want %d", got, tt.requests)
			}
			if tt.waits != nil && !equalDurations(s.all(), tt.waits) {
				t.Errorf("waits = %v, want %v", s.all(), tt.waits)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRetryBoundedByDeadline(t *testing.T) {
	tests := []struct {
		name       string
		backend    defender.BackendKind
		step       step
		kind       defender.ErrorKind
		reason     string
		retryAfter time.Duration
	}{
		{name: "429 whose Retry-After passes the deadline", backend: defender.BackendGraph,
			step: step{status: 429, header: map[string]string{"Retry-After": "5"}},
			kind: defender.KindThrottled, reason: defender.ReasonThrottled, retryAfter: 5 * time.Second},
		{name: "XDR 429 whose window passes the deadline", backend: defender.BackendXDR,
			step: step{status: 429, body: `{"error":{"code":"429","message":"API calls quota exceeded! maximum allowed 45 per 00:01:00"}}`},
			kind: defender.KindThrottled, reason: defender.ReasonThrottled, retryAfter: time.Minute},
		{name: "500 whose backoff passes the deadline", backend: defender.BackendGraph, step: step{status: 500},
			kind: defender.KindUnavailable, reason: defender.ReasonUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, rec := scripted(t, tt.step)
			b, s := retryingBackend(t, tt.backend, url, func(o *defender.ClientOptions) {
				o.Retry.BaseDelay = time.Hour // every backoff is past the deadline
				o.Retry.MaxDelay = 2 * time.Hour
			})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := b.GetIncident(ctx, "7", false)
			e := defendertest.MustError(t, err, tt.kind, tt.reason)
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if rec.Count() != 1 || len(s.all()) != 0 {
				t.Errorf("requests = %d, waits = %v; want 1 request and no wait", rec.Count(), s.all())
			}
		})
	}
}

// fakeGate records what a client asks of its gate.
type fakeGate struct {
	mu        sync.Mutex
	admits    []defender.Family
	throttled []throttle
	refuse    error
}

type throttle struct {
	family     defender.Family
	wait       time.Duration
	tenantWide bool
}

func (g *fakeGate) Admit(_ context.Context, f defender.Family) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.admits = append(g.admits, f)
	return g.refuse
}

func (g *fakeGate) Throttled(f defender.Family, wait time.Duration, tenantWide bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.throttled = append(g.throttled, throttle{f, wait, tenantWide})
}

func TestGateEveryAttempt(t *testing.T) {
	xdr429 := step{status: 429, body: `{"error":{"code":"429","message":"API calls quota exceeded! maximum allowed 1500 per 01:00:00"}}`}
	tests := []struct {
		name      string
		backend   defender.BackendKind
		op        func(context.Context, defender.Backend) error
		steps     []step
		admits    []defender.Family
		throttled []throttle
	}{
		{name: "graph get retried after a 429", backend: defender.BackendGraph, op: getOp,
			steps:     []step{{status: 429, header: map[string]string{"Retry-After": "2"}}, {status: 200, body: okIncident}},
			admits:    []defender.Family{defender.FamilyIncidentGet, defender.FamilyIncidentGet},
			throttled: []throttle{{defender.FamilyIncidentGet, 2 * time.Second, false}}},
		{name: "xdr list 429 names the tenant-wide window", backend: defender.BackendXDR, op: listOp,
			steps: []step{xdr429}, admits: []defender.Family{defender.FamilyIncidentRead},
			throttled: []throttle{{defender.FamilyIncidentRead, time.Hour, true}}},
		{name: "graph hunting CPU quota", backend: defender.BackendGraph, op: huntOp,
			steps: []step{{status: 400, body: `{"error":{"code":"BadRequest","message":"The query exceeded the allocated CPU resources quota"}}`},
				{status: 200, body: `{"results":[]}`}},
			admits:    []defender.Family{defender.FamilyHunting, defender.FamilyHunting},
			throttled: []throttle{{defender.FamilyHunting, 0, false}}},
		{name: "graph update: patch then comment then read", backend: defender.BackendGraph, op: updateOp,
			steps:  []step{{status: 200, body: okIncident}},
			admits: []defender.Family{defender.FamilyIncidentWrite, defender.FamilyIncidentWrite, defender.FamilyIncidentGet}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, _ := scripted(t, tt.steps...)
			b, _ := retryingBackend(t, tt.backend, url)
			g := &fakeGate{}
			_ = tt.op(defender.WithGate(context.Background(), g), b)
			if strings.Join(familyNames(g.admits), ",") != strings.Join(familyNames(tt.admits), ",") {
				t.Errorf("admits = %v, want %v", g.admits, tt.admits)
			}
			if len(g.throttled) != len(tt.throttled) {
				t.Fatalf("throttled = %v, want %v", g.throttled, tt.throttled)
			}
			for i := range g.throttled {
				if g.throttled[i] != tt.throttled[i] {
					t.Errorf("throttled[%d] = %v, want %v", i, g.throttled[i], tt.throttled[i])
				}
			}
		})
	}
}

func TestGateRefusalIsReturnedAsIs(t *testing.T) {
	url, rec := scripted(t, step{status: 200, body: okIncident})
	b, _ := retryingBackend(t, defender.BackendGraph, url)
	refusal := defender.Errorf(defender.KindResourceExhausted, defender.ReasonQuotaExhausted, "no budget")
	_, err := b.GetIncident(defender.WithGate(context.Background(), &fakeGate{refuse: refusal}), "7", false)
	if !errors.Is(err, refusal) && err != error(refusal) {
		t.Fatalf("err = %v, want the gate's own", err)
	}
	if rec.Count() != 0 {
		t.Errorf("requests = %d, want none", rec.Count())
	}
}

func familyNames(fs []defender.Family) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

func getOp(ctx context.Context, b defender.Backend) error {
	_, err := b.GetIncident(ctx, "7", false)
	return err
}
func listOp(ctx context.Context, b defender.Backend) error {
	_, err := b.ListIncidents(ctx, defender.ListQuery{PageSize: 10})
	return err
}
func huntOp(ctx context.Context, b defender.Backend) error {
	_, err := b.RunHuntingQuery(ctx, defender.HuntingQuery{Query: "T | take 1"})
	return err
}
func updateOp(ctx context.Context, b defender.Backend) error {
	s := "done"
	_, err := b.UpdateIncident(ctx, "7", defender.IncidentUpdate{AssignedTo: &s, Comment: "note"})
	return err
}

func TestRetriedFailureIsLoggedWithoutIDsOrQuery(t *testing.T) {
	url, _ := scripted(t, step{status: 503}, step{status: 200, body: `{"id":"123456"}`})
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, _ := retryingBackend(t, defender.BackendGraph, url, func(o *defender.ClientOptions) { o.Logger = logger })
	if _, err := b.GetIncident(context.Background(), "123456", true); err != nil {
		t.Fatalf("GetIncident: %v", err)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	for _, want := range []string{`"msg":"upstream call failed, retrying"`, `"route":"/security/incidents/{id}"`, `"status":503`, `"attempt":1`, `"wait":`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
	for _, leak := range []string{"123456", "$expand", defendertest.Token} {
		if strings.Contains(out, leak) {
			t.Errorf("logs show %q:\n%s", leak, out)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
