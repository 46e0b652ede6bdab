package backends

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
	"github.com/defender-gateway/gateway/internal/defender/graph"
)

// The caller's deadline reaches the upstream request: the server sees its
// request canceled when the deadline passes.
func TestCallerDeadlinePropagates(t *testing.T) {
	canceled := make(chan struct{})
	srv, _ := defendertest.NewServer(t, func(_ http.ResponseWriter, r *http.Request, _ defendertest.RecordedRequest) {
		<-r.Context().Done()
		close(canceled)
	})
	b, _ := retryingBackend(t, defender.BackendGraph, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := b.GetIncident(ctx, "7", false)
	defendertest.MustError(t, err, defender.KindDeadlineExceeded, defender.ReasonDeadlineExceeded)
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not canceled at the caller's deadline")
	}
}

// The client's Timeout bounds each attempt of a read, but a hunting query
// gets HuntingRequestTimeout.
func TestHuntingIsNotCutByTheRequestTimeout(t *testing.T) {
	srv, _ := defendertest.NewServer(t, func(w http.ResponseWriter, r *http.Request, _ defendertest.RecordedRequest) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		if r.Method == http.MethodPost {
			defendertest.WriteJSON(w, 200, map[string]any{"results": []any{}})
			return
		}
		defendertest.WriteJSON(w, 200, map[string]any{"id": "7"})
	})
	b, err := graph.New(defender.ClientOptions{BaseURL: srv.URL, HTTPClient: &http.Client{Timeout: 50 * time.Millisecond},
		Tokens: defendertest.Tokens, HuntingRequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.RunHuntingQuery(context.Background(), defender.HuntingQuery{Query: "T"}); err != nil {
		t.Errorf("hunting: %v, want success past the 50ms request timeout", err)
	}
	_, err = b.GetIncident(context.Background(), "7", false)
	defendertest.MustError(t, err, defender.KindUnavailable, defender.ReasonUnavailable)
}
