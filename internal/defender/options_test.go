package defender

import (
	"net/http"
	"testing"
)

func TestNewBackend(t *testing.T) {
	valid := ClientOptions{BaseURL: "https://graph.microsoft.com/v1.0", HTTPClient: &http.Client{}, Tokens: testTokens}
	tests := []struct {
		name     string
		kind     BackendKind
		opts     ClientOptions
		wantKind BackendKind
	}{
		{"graph", BackendGraph, valid, BackendGraph},
		{"xdr", BackendXDR, ClientOptions{BaseURL: "https://api.security.microsoft.com", HTTPClient: &http.Client{}, Tokens: testTokens}, BackendXDR},
		{"unknown kind", "mde", valid, ""},
		{"nil client", BackendGraph, ClientOptions{BaseURL: valid.BaseURL, Tokens: testTokens}, ""},
		{"nil tokens", BackendXDR, ClientOptions{BaseURL: valid.BaseURL, HTTPClient: &http.Client{}}, ""},
		{"bad base", BackendGraph, ClientOptions{BaseURL: "http://graph.microsoft.com", HTTPClient: &http.Client{}, Tokens: testTokens}, ""},
	}
	var _ BackendFactory = NewBackend
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBackend(tt.kind, tt.opts)
			if tt.wantKind == "" {
				mustError(t, err, KindInvalidArgument, ReasonInvalidArgument)
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

// The caller's client keeps its own redirect policy; the backend's copy
// never follows one.
func TestClientCopyDoesNotFollowRedirects(t *testing.T) {
	calls := 0
	orig := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { calls++; return nil }}
	g, err := NewGraph(ClientOptions{BaseURL: "https://graph.microsoft.com/v1.0", HTTPClient: orig, Tokens: testTokens})
	if err != nil {
		t.Fatal(err)
	}
	if g.up.client == orig || g.up.client.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("the backend must use a copy that returns redirects unfollowed")
	}
	if _ = orig.CheckRedirect(nil, nil); calls != 1 {
		t.Error("the caller's client was changed")
	}
}
