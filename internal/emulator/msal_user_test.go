package emulator

import (
	"context"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// TestMSALOnBehalfOf exchanges a user token for a Graph token with the real
// MSAL Go confidential client; a second call with the same assertion is
// served from MSAL's cache.
func TestMSALOnBehalfOf(t *testing.T) {
	e := startTest(t, Options{})
	cred, err := confidential.NewCredFromSecret(identity.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	app, err := confidential.New(e.AuthorityHost()+"/"+identity.HomeTenantID, identity.ClientID, cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(e.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := e.UserToken(UserTokenSpec{UPN: identity.AliceUPN})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	scopes := []string{identity.GraphResource + "/.default"}
	res, err := app.AcquireTokenOnBehalfOf(ctx, assertion, scopes)
	if err != nil {
		t.Fatalf("AcquireTokenOnBehalfOf: %v", err)
	}
	c, err := e.Entra().Verify(res.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.UPN != identity.AliceUPN || c.Audience != identity.GraphResource || !c.Has(identity.GraphIncidentReadWrite) {
		t.Errorf("claims = %+v", c)
	}
	before := e.TokenRequests()
	again, err := app.AcquireTokenOnBehalfOf(ctx, assertion, scopes)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.TokenRequests() - before; got != 0 || again.AccessToken != res.AccessToken {
		t.Errorf("second call made %d token requests, want 0 (cached)", got)
	}

	forged, err := e.UserToken(UserTokenSpec{UPN: identity.AliceUPN, Forged: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.AcquireTokenOnBehalfOf(ctx, forged, scopes); err == nil {
		t.Error("a forged assertion was exchanged")
	}
}
