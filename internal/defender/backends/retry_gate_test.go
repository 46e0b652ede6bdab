package backends

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

// holdingGate admits the first admits attempts and then refuses, as the
// quota scheduler does once a 429 has left a hold longer than the deadline.
type holdingGate struct {
	mu     sync.Mutex
	admits int
	refuse error
}

func (g *holdingGate) Admit(context.Context, defender.Family) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.admits > 0 {
		g.admits--
		return nil
	}
	return g.refuse
}

func (g *holdingGate) Throttled(defender.Family, time.Duration, bool) {}

// TestGateRefusalOfARetry: when the gate refuses the retry of a throttled
// attempt, the caller learns the upstream throttled it (UPSTREAM_THROTTLED,
// with the longer of the two waits), not that the gateway's own budget
// stopped a call that never went upstream. Other refusals pass as they are.
func TestGateRefusalOfARetry(t *testing.T) {
	hold := defender.Errorf(defender.KindThrottled, defender.ReasonQuotaExhausted, "the tenant's upstream quota is used up; retry later")
	hold.RetryAfter = 14 * time.Minute
	shutdown := defender.Errorf(defender.KindUnavailable, defender.ReasonShuttingDown, "the gateway is shutting down")
	tests := []struct {
		name       string
		steps      []step
		admits     int
		refuse     *defender.Error
		kind       defender.ErrorKind
		reason     string
		retryAfter time.Duration
		requests   int
	}{
		{name: "first attempt refused: the gate's own", steps: []step{{status: 200, body: okIncident}}, admits: 0, refuse: hold,
			kind: defender.KindThrottled, reason: defender.ReasonQuotaExhausted, retryAfter: 14 * time.Minute, requests: 0},
		{name: "retry after a 429 refused by its hold", steps: []step{{status: 429}}, admits: 1, refuse: hold,
			kind: defender.KindThrottled, reason: defender.ReasonThrottled, retryAfter: 14 * time.Minute, requests: 1},
		{name: "the 429's own wait when longer", steps: []step{{status: 429, header: map[string]string{"Retry-After": "5"}}}, admits: 1,
			refuse: &defender.Error{Kind: defender.KindThrottled, Reason: defender.ReasonQuotaExhausted, RetryAfter: time.Second},
			kind:   defender.KindThrottled, reason: defender.ReasonThrottled, retryAfter: 5 * time.Second, requests: 1},
		{name: "retry after a 500 refused: the gate's own", steps: []step{{status: 500}}, admits: 1, refuse: hold,
			kind: defender.KindThrottled, reason: defender.ReasonQuotaExhausted, retryAfter: 14 * time.Minute, requests: 1},
		{name: "retry after a 429 refused by shutdown", steps: []step{{status: 429}}, admits: 1, refuse: shutdown,
			kind: defender.KindUnavailable, reason: defender.ReasonShuttingDown, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, rec := scripted(t, tt.steps...)
			b, _ := retryingBackend(t, defender.BackendGraph, url)
			g := &holdingGate{admits: tt.admits, refuse: tt.refuse}
			_, err := b.GetIncident(defender.WithGate(context.Background(), g), "7", false)
			e := defendertest.MustError(t, err, tt.kind, tt.reason)
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if rec.Count() != tt.requests {
				t.Errorf("requests = %d, want %d", rec.Count(), tt.requests)
			}
		})
	}
	if hold.RetryAfter != 14*time.Minute || hold.Reason != defender.ReasonQuotaExhausted {
		t.Errorf("the gate's error was changed: %+v", hold)
	}
}

// flakyTokens fails its first calls with errs, then returns defendertest.Token.
type flakyTokens struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (f *flakyTokens) Token(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return "", err
	}
	return defendertest.Token, nil
}

// TestTokenFailureIsNotSent: an attempt that gets no token sent nothing.
// A transient token failure is retried as such: a comment is re-sent
// without first reading the incident, and Entra ID's throttling is not
// reported to the gate as the API's. A rejected credential is final.
func TestTokenFailureIsNotSent(t *testing.T) {
	entra503 := &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonUnavailable, Message: "Entra ID could not issue a token (HTTP 503)", UpstreamStatus: 503}
	entraReset := &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonUnavailable, Message: "Entra ID could not be reached", Cause: errors.New("read: connection reset by peer")}
	entra429 := &defender.Error{Kind: defender.KindThrottled, Reason: defender.ReasonThrottled, Message: "Entra ID is throttling the gateway's token requests", UpstreamStatus: 429, RetryAfter: time.Second}
	rejected := &defender.Error{Kind: defender.KindUpstreamAuth, Reason: defender.ReasonTokenAcquisition, Message: "Entra ID rejected the gateway's credentials", UpstreamStatus: 401}
	tests := []struct {
		name     string
		err      *defender.Error
		requests []string // method and path of what reached the API
		wantErr  bool
		waits    []time.Duration
	}{
		{name: "Entra 503", err: entra503, requests: []string{"POST /security/incidents/7/comments", "GET /security/incidents/7"},
			waits: []time.Duration{testPolicy.BaseDelay}},
		{name: "Entra reset", err: entraReset, requests: []string{"POST /security/incidents/7/comments", "GET /security/incidents/7"},
			waits: []time.Duration{testPolicy.BaseDelay}},
		{name: "Entra 429", err: entra429, requests: []string{"POST /security/incidents/7/comments", "GET /security/incidents/7"},
			waits: []time.Duration{time.Second}},
		{name: "credentials rejected", err: rejected, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, rec := scripted(t, step{status: 200, body: okIncident})
			tokens := &flakyTokens{errs: []error{tt.err}}
			b, s := retryingBackend(t, defender.BackendGraph, url, func(o *defender.ClientOptions) { o.Tokens = tokens })
			g := &fakeGate{}
			_, err := b.UpdateIncident(defender.WithGate(context.Background(), g), "7", defender.IncidentUpdate{Comment: "note"})
			if tt.wantErr {
				defendertest.MustError(t, err, tt.err.Kind, tt.err.Reason)
			} else if err != nil {
				t.Fatalf("UpdateIncident: %v", err)
			}
			var got []string
			for _, r := range rec.All() {
				got = append(got, r.Method+" "+r.Path)
			}
			if strings.Join(got, ",") != strings.Join(tt.requests, ",") {
				t.Errorf("requests = %v, want %v", got, tt.requests)
			}
			if len(g.throttled) != 0 {
				t.Errorf("the gate was told of a throttle: %v", g.throttled)
			}
			if w := s.all(); len(w) != len(tt.waits) || (len(w) > 0 && w[0] != tt.waits[0]) {
				t.Errorf("waits = %v, want %v", w, tt.waits)
			}
		})
	}
}
