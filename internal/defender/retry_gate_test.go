package defender

import (
	"context"
	"sync"
	"testing"
	"time"
)

// holdingGate admits the first admits attempts and then refuses, as the
// quota scheduler does once a 429 has left a hold longer than the deadline.
type holdingGate struct {
	mu     sync.Mutex
	admits int
	refuse error
}

func (g *holdingGate) Admit(context.Context, Family) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.admits > 0 {
		g.admits--
		return nil
	}
	return g.refuse
}

func (g *holdingGate) Throttled(Family, time.Duration, bool) {}

// TestGateRefusalOfARetry: when the gate refuses the retry of a throttled
// attempt, the caller learns the upstream throttled it (UPSTREAM_THROTTLED,
// with the longer of the two waits), not that the gateway's own budget
// stopped a call that never went upstream. Other refusals pass as they are.
func TestGateRefusalOfARetry(t *testing.T) {
	hold := Errorf(KindThrottled, ReasonQuotaExhausted, "the tenant's upstream quota is used up; retry later")
	hold.RetryAfter = 14 * time.Minute
	shutdown := Errorf(KindUnavailable, ReasonShuttingDown, "the gateway is shutting down")
	tests := []struct {
		name       string
		steps      []step
		admits     int
		refuse     *Error
		kind       ErrorKind
		reason     string
		retryAfter time.Duration
		requests   int
	}{
		{name: "first attempt refused: the gate's own", steps: []step{{status: 200, body: okIncident}}, admits: 0, refuse: hold,
			kind: KindThrottled, reason: ReasonQuotaExhausted, retryAfter: 14 * time.Minute, requests: 0},
		{name: "retry after a 429 refused by its hold", steps: []step{{status: 429}}, admits: 1, refuse: hold,
			kind: KindThrottled, reason: ReasonThrottled, retryAfter: 14 * time.Minute, requests: 1},
		{name: "the 429's own wait when longer", steps: []step{{status: 429, header: map[string]string{"Retry-After": "5"}}}, admits: 1,
			refuse: &Error{Kind: KindThrottled, Reason: ReasonQuotaExhausted, RetryAfter: time.Second},
			kind:   KindThrottled, reason: ReasonThrottled, retryAfter: 5 * time.Second, requests: 1},
		{name: "retry after a 500 refused: the gate's own", steps: []step{{status: 500}}, admits: 1, refuse: hold,
			kind: KindThrottled, reason: ReasonQuotaExhausted, retryAfter: 14 * time.Minute, requests: 1},
		{name: "retry after a 429 refused by shutdown", steps: []step{{status: 429}}, admits: 1, refuse: shutdown,
			kind: KindUnavailable, reason: ReasonShuttingDown, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, rec := scripted(t, tt.steps...)
			b, _ := retryingBackend(t, BackendGraph, url)
			g := &holdingGate{admits: tt.admits, refuse: tt.refuse}
			_, err := b.GetIncident(WithGate(context.Background(), g), "7", false)
			e := mustError(t, err, tt.kind, tt.reason)
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if rec.count() != tt.requests {
				t.Errorf("requests = %d, want %d", rec.count(), tt.requests)
			}
		})
	}
	if hold.RetryAfter != 14*time.Minute || hold.Reason != ReasonQuotaExhausted {
		t.Errorf("the gate's error was changed: %+v", hold)
	}
}
