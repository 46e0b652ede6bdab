package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestAPITokenCheck(t *testing.T) {
	clock := newTestClock()
	e := startTest(t, Options{Now: clock.Now, TokenLifetime: 10 * time.Minute})
	graphToken := fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.GraphResource)
	xdrToken := fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.XDRResource)
	xdrAltToken := fetchToken(t, e, identity.ReadOnlyClientID, identity.ReadOnlyClientSecret, identity.XDRResourceAlt)

	graphURL := e.GraphURL() + "/security/incidents"
	xdrURL := e.XDRURL() + "/api/incidents"
	tests := []struct {
		name       string
		url        string
		auth       string
		advance    time.Duration
		wantStatus int
		wantCode   string // error.code for failures
		wantRoles  int    // for successes
	}{
		{"graph ok", graphURL, "Bearer " + graphToken, 0, http.StatusOK, "", 3},
		{"graph lower-case scheme", graphURL, "bearer " + graphToken, 0, http.StatusOK, "", 3},
		{"graph missing", graphURL, "", 0, http.StatusUnauthorized, "InvalidAuthenticationToken", 0},
		{"graph empty bearer", graphURL, "Bearer ", 0, http.StatusUnauthorized, "InvalidAuthenticationToken", 0},
		{"graph basic scheme", graphURL, "Basic " + graphToken, 0, http.StatusUnauthorized, "InvalidAuthenticationToken", 0},
		{"graph malformed", graphURL, "Bearer not-a-jwt", 0, http.StatusUnauthorized, "InvalidAuthenticationToken", 0},
		{"graph wrong audience", graphURL, "Bearer " + xdrToken, 0, http.StatusUnauthorized, "InvalidAuthenticationToken", 0},
		{"graph expired", graphURL, "Bearer " + graphToken, 11 * time.Minute, http.StatusUnauthorized, "InvalidAuthenticationToken", 0},
		{"xdr ok", xdrURL, "Bearer " + xdrToken, 0, http.StatusOK, "", 2},
		{"xdr alt audience", xdrURL, "Bearer " + xdrAltToken, 0, http.StatusOK, "", 1},
		{"xdr missing", xdrURL, "", 0, http.StatusUnauthorized, "Unauthorized", 0},
		{"xdr malformed", xdrURL, "Bearer a.b.c", 0, http.StatusUnauthorized, "Unauthorized", 0},
		{"xdr wrong audience", xdrURL, "Bearer " + graphToken, 0, http.StatusUnauthorized, "Unauthorized", 0},
		{"xdr expired", xdrURL, "Bearer " + xdrToken, 11 * time.Minute, http.StatusUnauthorized, "Unauthorized", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(tt.advance)
			defer clock.Advance(-tt.advance)
			resp := call(t, e, http.MethodGet, tt.url, tt.auth)
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %v", resp.status, tt.wantStatus, resp.body)
			}
			if tt.wantStatus == http.StatusOK {
				roles, _ := resp.body["roles"].([]any)
				if resp.body["hasClaims"] != true || resp.body["tid"] != identity.HomeTenantID || len(roles) != tt.wantRoles {
					t.Errorf("handler saw %v", resp.body)
				}
				return
			}
			if got := errorCode(resp.body); got != tt.wantCode {
				t.Errorf("error.code = %q, want %q; body %v", got, tt.wantCode, resp.body)
			}
			if got := resp.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") || !strings.Contains(got, e.AuthorityHost()) {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			inner, _ := resp.body["error"].(map[string]any)
			shapeKey := "target" // XDR
			if strings.HasPrefix(tt.url, e.GraphURL()) {
				shapeKey = "innerError"
			}
			if _, ok := inner[shapeKey]; !ok {
				t.Errorf("error body %v lacks %s", resp.body, shapeKey)
			}
		})
	}
}
