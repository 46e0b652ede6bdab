package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// appTokenFor gets an app token for the gateway's API by client credentials
// of an emulator app.
func appTokenFor(t *testing.T, emu *emulator.Emulator, clientID, secret string) string {
	t.Helper()
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
		"scope":         {identity.GatewayResource + "/.default"},
	}
	resp, err := emu.HTTPClient().PostForm(emu.AuthorityHost()+"/"+identity.HomeTenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("app token of %s: HTTP %d, %v", clientID, resp.StatusCode, err)
	}
	return body.AccessToken
}

// TestJWTCallersNeedTheRoleOrScope: in jwt mode a token for the gateway's
// audience is not enough. An app token must carry the app role
// (DEFENDER_CALLER_APP_ROLE, default Gateway.Call) and a user token the
// delegated scope (DEFENDER_CALLER_SCOPE, default access_as_user); without
// them the call is PERMISSION_DENIED naming what is missing, before any
// policy lookup or upstream call. Users are known by tenant and object id.
func TestJWTCallersNeedTheRoleOrScope(t *testing.T) {
	emu := startEmulator(t)
	policy := writeFile(t, "policy.yaml", `
callers:
  - identity: app:`+identity.CallerClientID+`
    tenants: [default]
    operations: [incidents.read]
  - identity: app:`+identity.ReadOnlyClientID+`
    tenants: [default]
    operations: [incidents.read]
  - identity: user:`+identity.HomeTenantID+`/`+identity.AliceObjectID+`
    tenants: [default]
    operations: [incidents.read]
`)
	auditFile := writeFile(t, "audit.jsonl", "")
	g := startGateway(t, emu, appConfig(t, emu, "graph", identity.ClientID, identity.ClientSecret,
		"--caller-auth", "jwt", "--policy-file", policy, "--audit-log-file", auditFile))
	withRole := asUser(context.Background(), appTokenFor(t, emu, identity.CallerClientID, identity.CallerClientSecret))
	// The read-only app is consented in the tenant, so Entra ID issues it a
	// token for the gateway, but no role of the gateway is assigned to it.
	withoutRole := asUser(context.Background(), appTokenFor(t, emu, identity.ReadOnlyClientID, identity.ReadOnlyClientSecret))
	alice := asUser(context.Background(), userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN}))
	aliceWithoutScope := asUser(context.Background(), userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN, Scopes: []string{"User.Read", "Access_As_User"}}))
	list := &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1}
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			emu.ResetRequests()
			_, err := c.ListIncidents(withoutRole, list)
			wantStatus(t, err, codes.PermissionDenied, "CALLER_ROLE_MISSING", `"Gateway.Call"`)
			_, err = c.ListIncidents(aliceWithoutScope, list)
			wantStatus(t, err, codes.PermissionDenied, "CALLER_SCOPE_MISSING", `"access_as_user"`)
			if calls := upstreamCalls(emu); len(calls) != 0 {
				t.Errorf("refused callers reached Entra ID or the API: %+v", calls)
			}

			if _, err := c.ListIncidents(withRole, list); err != nil {
				t.Errorf("an app token with the role: %v", err)
			}
			if _, err := c.ListIncidents(alice, list); err != nil {
				t.Errorf("a user token with the scope: %v", err)
			}
			who, err := c.WhoAmI(alice, &defenderv1.WhoAmIRequest{Tenant: home})
			mustOK(t, err)
			if who.GetCaller() != "user:"+identity.HomeTenantID+"/"+identity.AliceObjectID || who.GetCallerDisplayName() != identity.AliceUPN {
				t.Errorf("WhoAmI caller = %q (%q), want her tenant and object id, and her UPN for display", who.GetCaller(), who.GetCallerDisplayName())
			}
		})
	}
	// The audit records name alice by her ids and show her UPN for people;
	// the refused app is recorded with the reason.
	var aliceRecords, roleMissing int
	for _, rec := range auditRecords(t, auditFile) {
		switch {
		case rec["caller"] == "user:"+identity.HomeTenantID+"/"+identity.AliceObjectID:
			aliceRecords++
			if rec["caller_display"] != identity.AliceUPN {
				t.Errorf("alice's audit record has caller_display %v, want her UPN", rec["caller_display"])
			}
		case rec["reason"] == "CALLER_ROLE_MISSING":
			roleMissing++
		}
	}
	if aliceRecords == 0 || roleMissing != 2 {
		t.Errorf("audit: %d records of alice (want some), %d CALLER_ROLE_MISSING (want 2)", aliceRecords, roleMissing)
	}
}

// TestOnBehalfOfNeedsTheScope: a user token presented for on-behalf-of in
// another caller mode must carry the gateway's delegated scope too: the
// client the user signed in to must have been granted the gateway's API.
// The required values are configurable.
func TestOnBehalfOfNeedsTheScope(t *testing.T) {
	emu := startEmulator(t)
	policy := writeFile(t, "policy.yaml", apiKeyPolicy)
	g := startGateway(t, emu, partnerConfig(t, emu, "graph",
		"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t), "--policy-file", policy,
		"--caller-scope", "Incidents.Triage"))
	soc := withHeaders(context.Background(), "x-api-key", socKey)
	list := &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1}
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			emu.ResetRequests()
			defaultScope := asUser(soc, userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN}))
			_, err := c.ListIncidents(defaultScope, list)
			wantStatus(t, err, codes.PermissionDenied, "CALLER_SCOPE_MISSING", `"Incidents.Triage"`)
			if calls := upstreamCalls(emu); len(calls) != 0 {
				t.Errorf("a refused user token reached Entra ID or the API: %+v", calls)
			}
			configured := asUser(soc, userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN, Scopes: []string{"Incidents.Triage"}}))
			if _, err := c.ListIncidents(configured, list); err != nil {
				t.Errorf("a user token with the configured scope: %v", err)
			}
		})
	}
}
