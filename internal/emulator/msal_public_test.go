package emulator

import (
	"context"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// TestMSALDeviceCode signs alice in with the real MSAL Go public client,
// approving through the control, then AcquireTokenSilent renews the expired
// access token through the refresh token.
func TestMSALDeviceCode(t *testing.T) {
	// MSAL treats a token within 5 minutes of expiry (real clock) as
	// expired, so a 4-minute lifetime makes every silent call renew; the
	// emulator clock is moved past expiry so the server agrees.
	clock := newTestClock()
	e := startTest(t, Options{Now: clock.Now, TokenLifetime: 4 * time.Minute})
	app, err := public.New(identity.ClientID,
		public.WithAuthority(e.AuthorityHost()+"/"+identity.HomeTenantDomain),
		public.WithInstanceDiscovery(false), public.WithHTTPClient(e.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	scopes := []string{identity.XDRResource + "/.default"}
	dc, err := app.AcquireTokenByDeviceCode(ctx, scopes)
	if err != nil {
		t.Fatalf("AcquireTokenByDeviceCode: %v", err)
	}
	if err := e.Entra().ApproveDeviceCode(dc.Result.UserCode, identity.AliceUPN); err != nil {
		t.Fatal(err)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("AuthenticationResult: %v", err)
	}
	if res.Account.PreferredUsername != identity.AliceUPN || res.Account.HomeAccountID != identity.AliceObjectID+"."+identity.HomeTenantID {
		t.Errorf("account = %+v", res.Account)
	}
	if c, err := e.Entra().Verify(res.AccessToken); err != nil || c.UPN != identity.AliceUPN || !c.Has(identity.XDRDelegatedIncidentReadWrite) {
		t.Fatalf("claims %+v, err %v", c, err)
	}
	accounts, err := app.Accounts(ctx)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("Accounts = %v, %v", accounts, err)
	}

	clock.Advance(5 * time.Minute)
	if _, err := e.Entra().Verify(res.AccessToken); err == nil {
		t.Fatal("the first token should have expired on the emulator clock")
	}
	before := e.TokenRequests()
	renewed, err := app.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(accounts[0]))
	if err != nil {
		t.Fatalf("silent renewal: %v", err)
	}
	if renewed.AccessToken == res.AccessToken || e.TokenRequests() != before+1 {
		t.Fatalf("renewal made %d token requests, same token %v", e.TokenRequests()-before, renewed.AccessToken == res.AccessToken)
	}
	if c, err := e.Entra().Verify(renewed.AccessToken); err != nil || c.UPN != identity.AliceUPN {
		t.Fatalf("renewed claims %+v, err %v", c, err)
	}

	e.Entra().RevokeRefreshTokens(identity.AliceUPN)
	clock.Advance(5 * time.Minute)
	if _, err := app.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(accounts[0])); err == nil {
		t.Error("silent renewal after revocation succeeded")
	}
}
