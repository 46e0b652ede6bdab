package upstream

import (
	"net/http"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

// The caller's client keeps its own redirect policy; the backend's copy
// never follows one.
func TestClientCopyDoesNotFollowRedirects(t *testing.T) {
	calls := 0
	orig := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { calls++; return nil }}
	up, err := New(defender.BackendGraph, Permissions{}, defender.ClientOptions{BaseURL: "https://graph.microsoft.com/v1.0", HTTPClient: orig, Tokens: defendertest.Tokens})
	if err != nil {
		t.Fatal(err)
	}
	if up.client == orig || up.client.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("the backend must use a copy that returns redirects unfollowed")
	}
	if _ = orig.CheckRedirect(nil, nil); calls != 1 {
		t.Error("the caller's client was changed")
	}
}
