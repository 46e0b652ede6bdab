package emulator

import (
	"net/http"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// TestMountedAPIs checks the real wiring of mount.go: the fake APIs answer
// behind the token check and see the token's permissions.
func TestMountedAPIs(t *testing.T) {
	e, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	graphFull := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.GraphResource)
	xdrFull := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.XDRResource)
	graphRead := "Bearer " + fetchToken(t, e, identity.ReadOnlyClientID, identity.ReadOnlyClientSecret, identity.GraphResource)

	tests := []struct {
		name, method, url, token string
		wantStatus               int
	}{
		{"graph list incidents", http.MethodGet, e.GraphURL() + "/security/incidents", graphFull, http.StatusOK},
		{"xdr list incidents", http.MethodGet, e.XDRURL() + "/api/incidents", xdrFull, http.StatusOK},
		{"graph without token", http.MethodGet, e.GraphURL() + "/security/incidents", "", http.StatusUnauthorized},
		{"graph hunting with read-only roles", http.MethodPost, e.GraphURL() + "/security/runHuntingQuery", graphRead, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, e, tt.method, tt.url, tt.token)
			if resp.status != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %v", resp.status, tt.wantStatus, resp.body)
			}
		})
	}
}

// TestCommentsCountPosts: every comment POST (Graph) or PATCH with a
// comment (XDR) adds exactly one comment to the incident, so the
// incident's comments count the writes that reached the emulator.
func TestCommentsCountPosts(t *testing.T) {
	e, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	graph := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.GraphResource)
	xdr := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.XDRResource)
	comments := func() int {
		resp := call(t, e, http.MethodGet, e.XDRURL()+"/api/incidents/1000", xdr)
		list, ok := resp.body["comments"].([]any)
		if resp.status != http.StatusOK || !ok {
			t.Fatalf("get incident: %d %v", resp.status, resp.body)
		}
		return len(list)
	}
	before := comments()
	for range 2 {
		if status, body := send(t, e, http.MethodPost, e.GraphURL()+"/security/incidents/1000/comments", graph,
			`{"@odata.type":"microsoft.graph.security.alertComment","comment":"graph note"}`); status != http.StatusOK {
			t.Fatalf("graph comment: %d %v", status, body)
		}
	}
	if status, body := send(t, e, http.MethodPatch, e.XDRURL()+"/api/incidents/1000", xdr, `{"comment":"xdr note"}`); status != http.StatusOK {
		t.Fatalf("xdr comment: %d %v", status, body)
	}
	if got := comments() - before; got != 3 {
		t.Errorf("comments grew by %d, want 3 (one per write)", got)
	}
}
