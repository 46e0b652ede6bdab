package backends

import (
	"net/http"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

func TestNewBackend(t *testing.T) {
	valid := defender.ClientOptions{BaseURL: "https://graph.microsoft.com/v1.0", HTTPClient: &http.Client{}, Tokens: defendertest.Tokens}
	tests := []struct {
		name     string
		kind     defender.BackendKind
		opts     defender.ClientOptions
		wantKind defender.BackendKind
	}{
		{"graph", defender.BackendGraph, valid, defender.BackendGraph},
		{"xdr", defender.BackendXDR, defender.ClientOptions{BaseURL: "https://api.security.microsoft.com", HTTPClient: &http.Client{}, Tokens: defendertest.Tokens}, defender.BackendXDR},
		{"unknown kind", "mde", valid, ""},
		{"nil client", defender.BackendGraph, defender.ClientOptions{BaseURL: valid.BaseURL, Tokens: defendertest.Tokens}, ""},
		{"nil tokens", defender.BackendXDR, defender.ClientOptions{BaseURL: valid.BaseURL, HTTPClient: &http.Client{}}, ""},
		{"bad base", defender.BackendGraph, defender.ClientOptions{BaseURL: "http://graph.microsoft.com", HTTPClient: &http.Client{}, Tokens: defendertest.Tokens}, ""},
	}
	var _ defender.BackendFactory = New
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(tt.kind, tt.opts)
			if tt.wantKind == "" {
				defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonInvalidArgument)
				if b != nil {
					t.Errorf("backend = %v, want nil", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Kind() != tt.wantKind {
				t.Errorf("Kind = %s, want %s", b.Kind(), tt.wantKind)
			}
		})
	}
}
