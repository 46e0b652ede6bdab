package graph

import (
	"net/http"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

func newTestGraph(t *testing.T, baseURL string) *Graph {
	t.Helper()
	g, err := New(defender.ClientOptions{BaseURL: baseURL, HTTPClient: &http.Client{}, Tokens: defendertest.Tokens})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}
