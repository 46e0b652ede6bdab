package xdr

import (
	"net/http"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

func newTestXDR(t *testing.T, baseURL string) *XDR {
	t.Helper()
	x, err := New(defender.ClientOptions{BaseURL: baseURL, HTTPClient: &http.Client{}, Tokens: defendertest.Tokens})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return x
}
