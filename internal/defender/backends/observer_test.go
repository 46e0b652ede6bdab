package backends

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

// observed records what an Observer is told.
type observed struct {
	mu        sync.Mutex
	requests  []string // backend family tenant status
	throttled []string // backend family tenant
}

func (o *observed) UpstreamRequest(backend, family, tenant string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if d < 0 {
		panic("negative duration")
	}
	o.requests = append(o.requests, strings.Join([]string{backend, family, tenant, http.StatusText(status)}, " "))
}

func (o *observed) UpstreamThrottled(backend, family, tenant string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.throttled = append(o.throttled, strings.Join([]string{backend, family, tenant}, " "))
}

// TestObserverAndFailureLog: every attempt reaches the observer with the
// tenant of the context, a 429 counts as throttled, and a failed attempt is
// logged at info with the client-request-id it was sent with (a successful
// one only at debug).
func TestObserverAndFailureLog(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
			defendertest.WriteJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{"code": "TooManyRequests", "message": "slow down"}})
			return
		}
		defendertest.WriteJSON(w, 200, map[string]any{"value": []any{}})
	})
	obs := &observed{}
	var logs bytes.Buffer
	b, _ := retryingBackend(t, defender.BackendGraph, srv.URL+"/v1.0", func(o *defender.ClientOptions) {
		o.Observer = obs
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	ctx := defender.WithTenantLabel(context.Background(), "tenant-1")
	if _, err := b.ListIncidents(ctx, defender.ListQuery{PageSize: 5}); err != nil {
		t.Fatal(err)
	}
	want := []string{"graph incident-read tenant-1 Too Many Requests", "graph incident-read tenant-1 OK"}
	if strings.Join(obs.requests, "|") != strings.Join(want, "|") {
		t.Errorf("requests observed %q, want %q", obs.requests, want)
	}
	if len(obs.throttled) != 1 || obs.throttled[0] != "graph incident-read tenant-1" {
		t.Errorf("throttled observed %q", obs.throttled)
	}
	reqs := rec.All()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	out := logs.String()
	failedID := reqs[0].Header.Get("client-request-id")
	if !strings.Contains(out, `"msg":"upstream call failed"`) || !strings.Contains(out, `"client_request_id":"`+failedID+`"`) ||
		!strings.Contains(out, `"status":429`) {
		t.Errorf("info logs do not hold the failed call with its client-request-id %s:\n%s", failedID, out)
	}
	if okID := reqs[1].Header.Get("client-request-id"); strings.Contains(out, okID) {
		t.Errorf("a successful call was logged at info:\n%s", out)
	}
}
