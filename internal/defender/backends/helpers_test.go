package backends

import (
	"net/http"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

// newTestClient is a client of kind at baseURL, authenticated with
// defendertest.Tokens and retrying nothing.
func newTestClient(t *testing.T, kind defender.BackendKind, baseURL string) defender.Backend {
	t.Helper()
	b, err := New(kind, defender.ClientOptions{BaseURL: baseURL, HTTPClient: &http.Client{}, Tokens: defendertest.Tokens})
	if err != nil {
		t.Fatalf("New(%s): %v", kind, err)
	}
	return b
}

func newTestGraph(t *testing.T, baseURL string) defender.Backend {
	t.Helper()
	return newTestClient(t, defender.BackendGraph, baseURL)
}

func newTestXDR(t *testing.T, baseURL string) defender.Backend {
	t.Helper()
	return newTestClient(t, defender.BackendXDR, baseURL)
}
