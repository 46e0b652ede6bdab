package xdrapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestGarbageRequestsAreClientErrors sends malformed requests: each must get
// a 4xx XDR error, never a panic or a 5xx.
func TestGarbageRequestsAreClientErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ method, target, body string }{
		{http.MethodGet, "/api/incidents?$filter=" + strings.Repeat("not%20", 5000), ""},
		{http.MethodGet, "/api/incidents?$filter=status%20eq%20%27", ""},
		{http.MethodGet, "/api/incidents?$filter=%zz", ""},
		{http.MethodGet, "/api/incidents?$top=", ""},
		{http.MethodGet, "/api/incidents?$top=0x10", ""},
		{http.MethodGet, "/api/incidents/-1", ""},
		{http.MethodPatch, "/api/incidents/1001", "\x00\xff"},
		{http.MethodPatch, "/api/incidents/1001", `{"tags":[null, 3]}`},
		{http.MethodPatch, "/api/incidents/1001", `{"comment":{"text":"x"}}`},
		{http.MethodPost, "/api/advancedhunting/run", `{"Query":null}`},
		{http.MethodPost, "/api/advancedhunting/run", strings.Repeat("{", 100000)},
		{http.MethodPut, "/api/incidents/1001", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			resp := f.call(tt.method, tt.target, tt.body, &fullAccess)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("status %d, want 4xx", resp.StatusCode)
			}
			decode[xdrError](t, resp, resp.StatusCode)
		})
	}
}
