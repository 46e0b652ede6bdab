package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// faultCase is one emulator fault on one kind of call, and what the caller
// and the emulator see.
type faultCase struct {
	name string
	// fault is aimed at each op's upstream route (API, Method and
	// PathPrefix are filled in); build, when set, makes it instead.
	fault    emulator.Fault
	build    func(r upstreamRoute) emulator.Fault
	backends []string // nil: both
	ops      []faultOp
	deadline time.Duration // of the call; 0: none (the gateway's 30 s)

	code   codes.Code // codes.OK: the call succeeds
	reason string
	// restReason, when set, is the reason over REST, where the gateway
	// answers a status that gRPC's client library makes itself.
	restReason string
	// retryAfter is the RetryInfo delay wanted: exactly it when > 0, at
	// most -retryAfter (and present) when < 0, none checked when 0.
	retryAfter time.Duration
	// upstream is the emulator's answers on the op's route, in order (0:
	// no answer); nil checks only that there were at most 4 (the attempts).
	upstream []int
	// then, when set, runs after the call on the same gateway.
	then func(t *testing.T, g *gateway, c client, r upstreamRoute)
	// oneTransport runs the case over gRPC on Graph and REST on XDR only:
	// for a transient fault whose retry waits a second, where the
	// transport plays no part, to keep the suite quick.
	oneTransport bool
}

// faultCases cover every fault the emulator offers. A transient fault
// (Times 1) is retried into a success for a safe call; a persistent one
// ends in the documented status (docs/design.md "Errors" and "Retries and
// idempotency"), without hanging past the deadline.
var faultCases = []faultCase{
	// Throttling.
	{name: "429 once with Retry-After", fault: emulator.Fault{Status: 429, RetryAfter: time.Second, Times: 1},
		ops: []faultOp{opList}, upstream: []int{429, 200}, oneTransport: true},
	// The gateway holds the family for DEFENDER_QUOTA_DEFAULT_HOLD, then
	// retries.
	{name: "429 once without Retry-After", fault: emulator.Fault{Status: 429, Times: 1},
		ops: []faultOp{opGet}, upstream: []int{429, 200}, oneTransport: true},
	{name: "XDR quota 429 once naming a 1s window", backends: []string{"xdr"},
		build: func(r upstreamRoute) emulator.Fault {
			f := emulator.XDRQuotaExceeded(identity.HomeTenantID, r.prefix, emulator.Window{Count: 45, Per: time.Second})
			f.Times = 1
			return f
		},
		ops: []faultOp{opList}, upstream: []int{429, 200}, oneTransport: true},
	{name: "429 with a Retry-After past the retry max delay", fault: emulator.Fault{Status: 429, RetryAfter: 7 * time.Second},
		ops: []faultOp{opGet, opHunt}, code: codes.ResourceExhausted, reason: "UPSTREAM_THROTTLED", retryAfter: 7 * time.Second, upstream: []int{429}},
	{name: "429 without Retry-After until the deadline", fault: emulator.Fault{Status: 429}, deadline: 1500 * time.Millisecond,
		ops: []faultOp{opList}, code: codes.ResourceExhausted, reason: "UPSTREAM_THROTTLED", retryAfter: -2 * time.Second},
	{name: "XDR quota 429 naming a 1 min window", backends: []string{"xdr"},
		build: func(r upstreamRoute) emulator.Fault {
			return emulator.XDRQuotaExceeded(identity.HomeTenantID, r.prefix, emulator.Window{Count: 45, Per: time.Minute})
		},
		ops: []faultOp{opList}, code: codes.ResourceExhausted, reason: "UPSTREAM_THROTTLED", retryAfter: time.Minute, upstream: []int{429},
		then: heldBack},
	// The CPU quota renews every 15 minutes: the tenant's hunting is held
	// until the next cycle rather than retried. (Persistent, so that a
	// call that happens to cross a cycle's boundary still meets it.)
	{name: "hunting CPU quota",
		build: func(r upstreamRoute) emulator.Fault {
			return emulator.HuntingCPUQuota(r.api, identity.HomeTenantID)
		},
		ops: []faultOp{opHunt}, deadline: 2 * time.Second,
		code: codes.ResourceExhausted, reason: "UPSTREAM_THROTTLED", retryAfter: -15 * time.Minute, upstream: []int{429},
		then: heldBack},

	// Server errors.
	{name: "500 once", fault: emulator.Fault{Status: 500, Times: 1}, ops: []faultOp{opGet}, upstream: []int{500, 200}},
	{name: "503 once", fault: emulator.Fault{Status: 503, Times: 1}, ops: []faultOp{opHunt}, upstream: []int{503, 200}},
	{name: "504 once", fault: emulator.Fault{Status: 504, Times: 1}, ops: []faultOp{opList, opAssign}, upstream: []int{504, 200}},
	{name: "500 persistent", fault: emulator.Fault{Status: 500}, ops: []faultOp{opHunt},
		code: codes.Unavailable, reason: "UPSTREAM_UNAVAILABLE", upstream: []int{500, 500, 500, 500}},
	{name: "504 persistent", fault: emulator.Fault{Status: 504}, ops: []faultOp{opGet},
		code: codes.Unavailable, reason: "UPSTREAM_UNAVAILABLE", upstream: []int{504, 504, 504, 504}},
	// Each wait is the Retry-After (1s); the second would end past the
	// deadline, so the call ends at once with the last 503.
	{name: "503 persistent with a short deadline", fault: emulator.Fault{Status: 503, RetryAfter: time.Second}, deadline: 1500 * time.Millisecond,
		ops: []faultOp{opList}, code: codes.Unavailable, reason: "UPSTREAM_UNAVAILABLE", retryAfter: time.Second, upstream: []int{503, 503}},

	// Broken connections and bodies.
	{name: "connection reset once", fault: emulator.Fault{Reset: true, Times: 1}, ops: []faultOp{opHunt}, upstream: []int{0, 200}},
	{name: "connection reset once on a read", fault: emulator.Fault{Reset: true, Times: 1}, ops: []faultOp{opGet},
		// net/http itself re-sends a GET whose reused connection dies, so
		// the gateway may not see the reset; either way it is retried once.
		upstream: []int{0, 200}},
	{name: "connection reset persistent", fault: emulator.Fault{Reset: true}, ops: []faultOp{opHunt},
		code: codes.Unavailable, reason: "UPSTREAM_UNAVAILABLE", upstream: []int{0, 0, 0, 0}},
	{name: "truncated JSON once", fault: emulator.Fault{Truncate: true, Times: 1}, ops: []faultOp{opHunt}, upstream: []int{200, 200}},
	{name: "malformed JSON once", fault: emulator.Fault{Malformed: true, Times: 1}, ops: []faultOp{opGet}, upstream: []int{200, 200}},
	{name: "truncated JSON persistent", fault: emulator.Fault{Truncate: true}, ops: []faultOp{opGet},
		code: codes.Unavailable, reason: "UPSTREAM_MALFORMED_RESPONSE", upstream: []int{200, 200, 200, 200}},
	{name: "malformed JSON persistent", fault: emulator.Fault{Malformed: true}, ops: []faultOp{opHunt},
		code: codes.Unavailable, reason: "UPSTREAM_MALFORMED_RESPONSE", upstream: []int{200, 200, 200, 200}},

	// Slow answers.
	{name: "slow answer once past the upstream timeout", fault: emulator.Fault{Delay: 10 * time.Second, Times: 1},
		ops: []faultOp{opGet}, upstream: []int{0, 200}, oneTransport: true},
	// Over gRPC the caller's own library ends the call at its deadline
	// (a status without ErrorInfo); over REST the gateway answers 504
	// DEADLINE_EXCEEDED. Either way the upstream request is given up.
	{name: "slow answer past the caller's deadline", fault: emulator.Fault{Delay: 10 * time.Second}, deadline: 500 * time.Millisecond,
		// errors_test.go shows a listing; a hunting query is a POST, whose
		// body the upstream reads before it can notice the caller leave.
		ops: []faultOp{opHunt, opAssign}, code: codes.DeadlineExceeded, restReason: "DEADLINE_EXCEEDED", upstream: []int{0}},
}

// heldBack checks that after an upstream 429 that names a long wait, the
// next call of the family is refused by the gateway itself: nothing more
// goes upstream.
func heldBack(t *testing.T, g *gateway, c client, r upstreamRoute) {
	t.Helper()
	before := len(r.statuses(g.emu, 0))
	op := opList
	if r.method == http.MethodPost {
		op = opHunt
	}
	st := wantStatus(t, op.call(withDeadline(t, 5*time.Second), c), codes.ResourceExhausted, "QUOTA_EXHAUSTED")
	if d, ok := retryDelay(st); !ok || d <= 0 {
		t.Errorf("held call: RetryInfo %v (present %v), want a positive delay", d, ok)
	}
	if after := len(r.statuses(g.emu, 0)); after != before {
		t.Errorf("a held call went upstream: %d requests", after-before)
	}
}

func TestFaultStatuses(t *testing.T) {
	for _, tc := range faultCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, backend := range backends {
				if tc.backends != nil && !slices.Contains(tc.backends, backend) {
					continue
				}
				// A 429 leaves a hold in the scheduler: its cases get a
				// gateway per call, the others share one per backend.
				var shared *gateway
				if !tc.throttles(backend, tc.ops[0]) {
					shared = startFaultGateway(t, backend)
				}
				for _, op := range tc.ops {
					for i, transport := range []string{"grpc", "rest"} {
						if tc.oneTransport && (transport == "grpc") != (backend == "graph") {
							continue
						}
						t.Run(backend+"/"+op.name+"/"+transport, func(t *testing.T) {
							g := shared
							if g == nil {
								g = startFaultGateway(t, backend)
							}
							runFaultCase(t, tc, g, op, g.clients(t)[i])
						})
					}
				}
			}
		})
	}
}

// faultOn is tc's fault aimed at op's route on backend.
func (tc faultCase) faultOn(backend string, op faultOp) emulator.Fault {
	route := op.route(backend)
	if tc.build != nil {
		return tc.build(route)
	}
	return route.fault(tc.fault)
}

// throttles reports whether tc answers 429s, which leave holds.
func (tc faultCase) throttles(backend string, op faultOp) bool {
	return tc.faultOn(backend, op).Status == http.StatusTooManyRequests
}

// runFaultCase runs tc for one op over client c of g.
func runFaultCase(t *testing.T, tc faultCase, g *gateway, op faultOp, c client) {
	// One call first, so the token is cached and the route's connection
	// is open: the fault then meets what a running gateway does.
	mustOK(t, opList.call(withDeadline(t, 10*time.Second), c))
	route := op.route(g.backend)
	defer g.emu.InjectFault(tc.faultOn(g.backend, op))()
	g.emu.ResetRequests()

	start := time.Now()
	err := op.call(withDeadline(t, tc.deadline), c)
	elapsed := time.Since(start)

	limit := tc.deadline
	if limit == 0 {
		limit = 10 * time.Second
	}
	if elapsed > limit+2*time.Second {
		t.Errorf("the call took %v, want at most %v", elapsed, limit+2*time.Second)
	}
	if tc.code == codes.OK {
		mustOK(t, err)
	} else {
		reason := tc.reason
		if c.name() == "rest" && tc.restReason != "" {
			reason = tc.restReason
		}
		st := wantStatus(t, err, tc.code, reason)
		d, ok := retryDelay(st)
		switch {
		case tc.retryAfter > 0 && (!ok || d != tc.retryAfter):
			t.Errorf("RetryInfo %v (present %v), want %v", d, ok, tc.retryAfter)
		case tc.retryAfter < 0 && (!ok || d <= 0 || d > -tc.retryAfter):
			t.Errorf("RetryInfo %v (present %v), want one in (0, %v]", d, ok, -tc.retryAfter)
		}
		if strings.Contains(st.Message(), "Bearer") || strings.Contains(st.Message(), "eyJ") || strings.Contains(st.Message(), "127.0.0.1") {
			t.Errorf("the status message leaks internals: %q", st.Message())
		}
	}
	got := route.statuses(g.emu, len(tc.upstream))
	switch {
	case tc.upstream == nil && (len(got) == 0 || len(got) > 4):
		t.Errorf("upstream answers = %v, want 1 to 4 attempts", got)
	case tc.upstream != nil && !slices.Equal(got, tc.upstream):
		t.Errorf("upstream answers = %v, want %v", got, tc.upstream)
	}
	if tc.then != nil {
		tc.then(t, g, c, route)
	}
}

// commentCase is a failure of the upstream request that carries a comment.
type commentCase struct {
	name  string
	fault emulator.Fault // aimed at the comment's route
	code  codes.Code     // codes.OK: the update succeeds
	// posted is how many times the comment is on the incident afterwards;
	// sent how many comment requests the emulator received.
	posted, sent int
}

var commentCases = []commentCase{
	// Ambiguous: the comment was applied, the answer lost. The gateway
	// reads the incident, finds it, and does not post it again.
	{name: "reset after the comment was applied", fault: emulator.Fault{AfterHandler: true, Reset: true}, posted: 1, sent: 1},
	{name: "504 after the comment was applied", fault: emulator.Fault{AfterHandler: true, Status: 504}, posted: 1, sent: 1},
	{name: "stalled past the upstream timeout after the comment was applied", fault: emulator.Fault{AfterHandler: true, Delay: 10 * time.Second},
		posted: 1, sent: 1},
	// Ambiguous as far as the gateway knows, but not applied: it reads the
	// incident, does not find the comment, and sends it again.
	{name: "reset before the comment was applied", fault: emulator.Fault{Reset: true}, posted: 1, sent: 2},
	{name: "503 before the comment was applied", fault: emulator.Fault{Status: 503}, posted: 1, sent: 2},
	// Not applied, and the answer says so: re-sent without looking.
	{name: "429 before the comment was applied", fault: emulator.Fault{Status: 429}, posted: 1, sent: 2},
	// A final answer: not retried at all.
	{name: "400", fault: emulator.Fault{Status: 400, Message: "Invalid comment."}, code: codes.InvalidArgument, posted: 0, sent: 1},
}

func TestFaultCommentIsNeverDuplicated(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			g := startFaultGateway(t, backend)
			route := commentRoute(backend)
			for _, c := range g.clients(t) {
				for _, tc := range commentCases {
					t.Run(c.name()+"/"+tc.name, func(t *testing.T) {
						text := uniqueComment(tc.name)
						f := route.fault(tc.fault)
						f.Times = 1
						remove := g.emu.InjectFault(f)
						defer remove()
						g.emu.ResetRequests()
						start := time.Now()
						inc, err := c.UpdateIncident(withDeadline(t, 10*time.Second), assignRequest("", text))
						if elapsed := time.Since(start); elapsed > 12*time.Second {
							t.Errorf("the update took %v", elapsed)
						}
						if tc.code == codes.OK {
							mustOK(t, err)
							if n := commentCount(inc, text); n != 1 {
								t.Errorf("the answer shows the comment %d times, want once", n)
							}
						} else {
							wantStatus(t, err, tc.code, "")
						}
						read, err := c.GetIncident(context.Background(), &defenderv1.GetIncidentRequest{Name: home + "/incidents/" + faultIncident})
						mustOK(t, err)
						if n := commentCount(read, text); n != tc.posted {
							t.Errorf("the incident has the comment %d times, want %d", n, tc.posted)
						}
						if got := route.statuses(g.emu, tc.sent); len(got) != tc.sent {
							t.Errorf("comment requests upstream = %v, want %d", got, tc.sent)
						}
					})
				}
			}
		})
	}
}

// TestFaultTokenOutage: while the gateway holds a valid token, an outage
// of the token endpoint fails no call; without one, the call is
// UNAVAILABLE and names Entra ID, and the gateway recovers once the
// endpoint does.
func TestFaultTokenOutage(t *testing.T) {
	outages := []struct {
		name   string
		status int // 0: the connection is reset
	}{{"503", 503}, {"reset", 0}}
	for _, backend := range backends {
		t.Run(backend+"/cached token", func(t *testing.T) {
			t.Parallel()
			g := startFaultGateway(t, backend)
			clients := g.clients(t)
			mustOK(t, opList.call(context.Background(), clients[0]))
			for _, o := range outages {
				remove := g.emu.InjectFault(emulator.TokenOutage("", o.status))
				tokens := g.emu.TokenRequests()
				for _, c := range clients {
					for i := range 2 {
						ctx := withDeadline(t, 10*time.Second)
						for _, op := range []faultOp{opList, opGet, opHunt, opAssign} {
							if err := op.call(ctx, c); err != nil {
								t.Errorf("%s outage, %s %s call %d: %v", o.name, c.name(), op.name, i+1, err)
							}
						}
						inc, err := c.UpdateIncident(ctx, assignRequest("", uniqueComment("token outage")))
						if err != nil || len(inc.GetComments()) == 0 {
							t.Errorf("%s outage, %s update with a comment: %v", o.name, c.name(), err)
						}
					}
				}
				if n := g.emu.TokenRequests() - tokens; n != 0 {
					t.Errorf("%s outage: %d token requests with a valid token cached", o.name, n)
				}
				remove()
			}
		})
		t.Run(backend+"/no token/once", func(t *testing.T) {
			t.Parallel()
			g := startFaultGateway(t, backend)
			f := emulator.TokenOutage("", 503)
			f.Times = 1
			g.emu.InjectFault(f)
			mustOK(t, opList.call(withDeadline(t, 10*time.Second), g.clients(t)[0]))
			if n := g.emu.TokenRequests(); n != 2 {
				t.Errorf("token requests = %d, want 2 (the 503 and its retry)", n)
			}
		})
		for _, o := range outages {
			t.Run(backend+"/no token/"+o.name, func(t *testing.T) {
				t.Parallel()
				g := startFaultGateway(t, backend)
				remove := g.emu.InjectFault(emulator.TokenOutage("", o.status))
				for _, c := range g.clients(t) {
					start := time.Now()
					st := wantStatus(t, opList.call(withDeadline(t, 5*time.Second), c), codes.Unavailable, "UPSTREAM_UNAVAILABLE", "Entra ID")
					if elapsed := time.Since(start); elapsed > 7*time.Second {
						t.Errorf("the call took %v", elapsed)
					}
					for _, leak := range []string{identity.ClientSecret, "eyJ", "client_secret", "127.0.0.1"} {
						if strings.Contains(st.Message(), leak) {
							t.Errorf("the status message leaks %q: %q", leak, st.Message())
						}
					}
				}
				remove()
				for _, c := range g.clients(t) {
					mustOK(t, opList.call(withDeadline(t, 10*time.Second), c))
				}
			})
		}
	}
}
