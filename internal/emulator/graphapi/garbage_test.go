package graphapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestGarbageRequestsAreClientErrors sends malformed requests: each must get
// a 4xx Graph error, never a panic or a 5xx.
func TestGarbageRequestsAreClientErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ method, target, body string }{
		{http.MethodGet, incidentsPath + "?$filter=" + strings.Repeat("(", 5000), ""},
		{http.MethodGet, incidentsPath + "?$filter=status%20eq%20%27%00%27", ""},
		{http.MethodGet, incidentsPath + "?$filter=not", ""},
		{http.MethodGet, incidentsPath + "?$filter=''", ""},
		{http.MethodGet, incidentsPath + "?$top=1e3", ""},
		{http.MethodGet, incidentsPath + "?$skip=", ""},
		{http.MethodGet, incidentsPath + "?$skiptoken=djE6eDp5", ""}, // "v1:x:y"
		{http.MethodGet, incidentsPath + "/%20", ""},
		{http.MethodGet, incidentsPath + "/0", ""},
		{http.MethodPatch, incidentsPath + "/1001", "\x00\xff"},
		{http.MethodPatch, incidentsPath + "/1001", `{"customTags":[1,2]}`},
		{http.MethodPatch, incidentsPath + "/1001", `null`},
		{http.MethodPost, incidentsPath + "/1001/comments", `{"comment":{"a":1}}`},
		{http.MethodPost, incidentsPath + "/x/comments", `{"comment":"x"}`},
		{http.MethodPost, huntingPath, `{"Query":null}`},
		{http.MethodPost, huntingPath, `{"Query":"x","Timespan":7}`},
		{http.MethodPost, huntingPath, strings.Repeat("[", 100000)},
		{http.MethodDelete, incidentsPath + "/1001", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			resp := f.call(tt.method, tt.target, tt.body, &fullAccess)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("status %d, want 4xx", resp.StatusCode)
			}
			decode[graphError](t, resp, resp.StatusCode)
		})
	}
}
