package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// postForm posts form to the authority and decodes the JSON answer.
func postForm(t *testing.T, e *Emulator, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := e.HTTPClient().PostForm(e.AuthorityHost()+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// oboToken exchanges a UserToken of upn for a delegated token for resource,
// as the gateway does.
func oboToken(t *testing.T, e *Emulator, upn, resource string) string {
	t.Helper()
	user, _ := identity.UserByUPN(upn)
	assertion, err := e.UserToken(UserTokenSpec{UPN: upn})
	if err != nil {
		t.Fatal(err)
	}
	status, body := postForm(t, e, "/"+user.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"client_id": {identity.ClientID}, "client_secret": {identity.ClientSecret},
		"assertion": {assertion}, "scope": {resource + "/.default"},
	})
	if status != http.StatusOK {
		t.Fatalf("OBO for %s: %d %v", upn, status, body)
	}
	return "Bearer " + body["access_token"].(string)
}

// send makes a request with a JSON body and returns the status and body.
func send(t *testing.T, e *Emulator, method, rawURL, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// graphIDs pages through Graph's incident list with $top=7 and returns
// every id, failing on duplicates.
func graphIDs(t *testing.T, e *Emulator, token string) []int64 {
	t.Helper()
	var ids []int64
	seen := map[int64]bool{}
	next := e.GraphURL() + "/security/incidents?$top=7&$count=true"
	count := -1
	for next != "" {
		status, body := send(t, e, http.MethodGet, next, token, "")
		if status != http.StatusOK {
			t.Fatalf("list: %d %v", status, body)
		}
		if c, ok := body["@odata.count"].(float64); ok && count < 0 {
			count = int(c)
		}
		for _, v := range body["value"].([]any) {
			var id int64
			fmt.Sscan(v.(map[string]any)["id"].(string), &id)
			if seen[id] {
				t.Fatalf("incident %d listed twice", id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		next, _ = body["@odata.nextLink"].(string)
	}
	if count != len(ids) {
		t.Errorf("@odata.count %d, paged %d", count, len(ids))
	}
	return ids
}

// xdrIDs pages through XDR's incident list with $top/$skip.
func xdrIDs(t *testing.T, e *Emulator, token string) []int64 {
	t.Helper()
	var ids []int64
	for skip := 0; ; skip += 25 {
		status, body := send(t, e, http.MethodGet, fmt.Sprintf("%s/api/incidents?$top=25&$skip=%d", e.XDRURL(), skip), token, "")
		if status != http.StatusOK {
			t.Fatalf("list: %d %v", status, body)
		}
		page := body["value"].([]any)
		for _, v := range page {
			ids = append(ids, int64(v.(map[string]any)["incidentId"].(float64)))
		}
		if len(page) < 25 {
			return ids
		}
	}
}

func TestDelegatedVisibility(t *testing.T) {
	e, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	appGraph := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.GraphResource)
	appXDR := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.XDRResource)
	allGraph, allXDR := graphIDs(t, e, appGraph), xdrIDs(t, e, appXDR)
	if len(allGraph) != len(allXDR) {
		t.Fatalf("app sees %d incidents on Graph, %d on XDR", len(allGraph), len(allXDR))
	}

	// Each user sees exactly the incidents of the app's view in their
	// scope. (The exact ids, and so the counts, vary slightly with the
	// emulator's start time.)
	secondGraph := graphIDsIn(t, e, identity.SecondTenantID)
	for _, upn := range []string{identity.AliceUPN, identity.BobUPN, identity.CarolUPN} {
		t.Run(upn, func(t *testing.T) {
			user, _ := identity.UserByUPN(upn)
			all := allGraph
			if user.TenantID == identity.SecondTenantID {
				all = secondGraph
			}
			want := 0
			for _, id := range all {
				if user.IncidentScope.Sees(id) {
					want++
				}
			}
			for api, ids := range map[string][]int64{
				"graph": graphIDs(t, e, oboToken(t, e, upn, identity.GraphResource)),
				"xdr":   xdrIDs(t, e, oboToken(t, e, upn, identity.XDRResource)),
			} {
				if len(ids) != want || want == 0 || len(ids) >= len(all)*2/3 {
					t.Errorf("%s: %s sees %d incidents (app: %d)", api, upn, len(ids), len(allGraph))
				}
				for _, id := range ids {
					if !user.IncidentScope.Sees(id) {
						t.Errorf("%s: %s sees incident %d outside the scope", api, upn, id)
					}
				}
			}
		})
	}

	alice := oboToken(t, e, identity.AliceUPN, identity.GraphResource)
	aliceXDR := oboToken(t, e, identity.AliceUPN, identity.XDRResource)
	bob := oboToken(t, e, identity.BobUPN, identity.GraphResource)
	bobXDR := oboToken(t, e, identity.BobUPN, identity.XDRResource)
	var visible, invisible int64 // of alice
	for _, id := range allGraph {
		if identity.Users()[0].IncidentScope.Sees(id) {
			visible = id
		} else {
			invisible = id
		}
	}
	var bobs int64
	for _, id := range allGraph {
		if identity.Users()[1].IncidentScope.Sees(id) {
			bobs = id
		}
	}
	graphIncident := func(id int64) string { return fmt.Sprintf("%s/security/incidents/%d", e.GraphURL(), id) }
	xdrIncident := func(id int64) string { return fmt.Sprintf("%s/api/incidents/%d", e.XDRURL(), id) }
	tests := []struct {
		name, method, url, token, body string
		wantStatus                     int
		wantCode                       string
	}{
		{"graph get visible", http.MethodGet, graphIncident(visible), alice, "", 200, ""},
		{"graph get invisible", http.MethodGet, graphIncident(invisible), alice, "", 404, "NotFound"},
		{"graph patch invisible", http.MethodPatch, graphIncident(invisible), alice, `{"status":"active"}`, 404, "NotFound"},
		{"graph patch visible", http.MethodPatch, graphIncident(visible), alice, `{"status":"active"}`, 200, ""},
		{"graph comment invisible", http.MethodPost, graphIncident(invisible) + "/comments", alice, `{"@odata.type":"microsoft.graph.security.alertComment","comment":"x"}`, 404, "NotFound"},
		{"graph hunting alice", http.MethodPost, e.GraphURL() + "/security/runHuntingQuery", alice, `{"Query":"DeviceProcessEvents | take 1"}`, 200, ""},
		{"graph bob get", http.MethodGet, graphIncident(bobs), bob, "", 200, ""},
		{"graph bob patch", http.MethodPatch, graphIncident(bobs), bob, `{"status":"active"}`, 403, "Forbidden"},
		{"graph bob hunting", http.MethodPost, e.GraphURL() + "/security/runHuntingQuery", bob, `{"Query":"DeviceProcessEvents | take 1"}`, 403, "Forbidden"},
		{"xdr get invisible", http.MethodGet, xdrIncident(invisible), aliceXDR, "", 404, "ResourceNotFound"},
		{"xdr patch invisible", http.MethodPatch, xdrIncident(invisible), aliceXDR, `{"status":"Active"}`, 404, "ResourceNotFound"},
		{"xdr patch visible", http.MethodPatch, xdrIncident(visible), aliceXDR, `{"status":"Active"}`, 200, ""},
		{"xdr bob patch", http.MethodPatch, xdrIncident(bobs), bobXDR, `{"status":"Active"}`, 403, "Forbidden"},
		{"xdr bob hunting", http.MethodPost, e.XDRURL() + "/api/advancedhunting/run", bobXDR, `{"Query":"DeviceProcessEvents | take 1"}`, 403, "Forbidden"},
		{"xdr alice hunting", http.MethodPost, e.XDRURL() + "/api/advancedhunting/run", aliceXDR, `{"Query":"DeviceProcessEvents | take 1"}`, 200, ""},
		{"graph app get alice's invisible", http.MethodGet, graphIncident(invisible), appGraph, "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := send(t, e, tt.method, tt.url, tt.token, tt.body)
			if status != tt.wantStatus || (tt.wantCode != "" && errorCode(body) != tt.wantCode) {
				t.Errorf("status %d code %q, want %d %q; %v", status, errorCode(body), tt.wantStatus, tt.wantCode, body)
			}
		})
	}
}

// TestDeviceCodeRenewal runs the device code flow over HTTP, then renews
// the expired access token through the refresh token.
func TestDeviceCodeRenewal(t *testing.T) {
	clock := newTestClock()
	e := startTest(t, Options{Now: clock.Now, TokenLifetime: 5 * time.Minute, DeviceCodeLifetime: 3 * time.Second})
	status, start := postForm(t, e, "/"+identity.HomeTenantDomain+"/oauth2/v2.0/devicecode", url.Values{
		"client_id": {identity.ClientID}, "scope": {identity.GraphResource + "/.default offline_access"},
	})
	if status != 200 || start["expires_in"] != float64(3) {
		t.Fatalf("devicecode: %d %v", status, start)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {identity.ClientID}, "device_code": {start["device_code"].(string)}}
	if status, body := postForm(t, e, "/"+identity.HomeTenantID+"/oauth2/v2.0/token", poll); status != 400 || body["error"] != "authorization_pending" {
		t.Fatalf("before approval: %d %v", status, body["error"])
	}
	if err := e.Entra().ApproveDeviceCode(start["user_code"].(string), identity.BobUPN); err != nil {
		t.Fatal(err)
	}
	status, tokens := postForm(t, e, "/"+identity.HomeTenantID+"/oauth2/v2.0/token", poll)
	if status != 200 {
		t.Fatalf("after approval: %d %v", status, tokens)
	}
	clock.Advance(6 * time.Minute)
	if resp := call(t, e, http.MethodGet, e.GraphURL()+"/security/incidents", "Bearer "+tokens["access_token"].(string)); resp.status != 401 {
		t.Fatalf("expired token: status %d", resp.status)
	}
	status, renewed := postForm(t, e, "/"+identity.HomeTenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {identity.ClientID},
		"refresh_token": {tokens["refresh_token"].(string)}, "scope": {identity.GraphResource + "/.default offline_access"},
	})
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, renewed)
	}
	resp := call(t, e, http.MethodGet, e.GraphURL()+"/security/incidents", "Bearer "+renewed["access_token"].(string))
	if resp.status != 200 || resp.body["hasClaims"] != true {
		t.Errorf("renewed token: %d %v", resp.status, resp.body)
	}
}

// graphIDsIn lists every incident id of tenantID as the sandbox app sees
// it.
func graphIDsIn(t *testing.T, e *Emulator, tenantID string) []int64 {
	t.Helper()
	status, body := postForm(t, e, "/"+tenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {identity.ClientID}, "client_secret": {identity.ClientSecret},
		"scope": {identity.GraphResource + "/.default"},
	})
	if status != http.StatusOK {
		t.Fatalf("app token in %s: %d %v", tenantID, status, body)
	}
	return graphIDs(t, e, "Bearer "+body["access_token"].(string))
}
