package emulator

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// TestMSALClientCredentials signs in with the real MSAL Go client against
// the emulator's authority.
func TestMSALClientCredentials(t *testing.T) {
	e := startTest(t, Options{})
	certs, key, err := confidential.CertFromPEM(e.ClientCertificatePEM(), "")
	if err != nil {
		t.Fatalf("CertFromPEM: %v", err)
	}
	certCred, err := confidential.NewCredFromCert(certs, key)
	if err != nil {
		t.Fatal(err)
	}
	secretCred := func(s string) confidential.Credential {
		c, err := confidential.NewCredFromSecret(s)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	tests := []struct {
		name      string
		tenant    string
		clientID  string
		cred      confidential.Credential
		scope     string
		wantErr   string // AADSTS code expected in the error
		wantRoles []string
	}{
		{
			name: "secret, graph", tenant: identity.HomeTenantID, clientID: identity.ClientID,
			cred: secretCred(identity.ClientSecret), scope: identity.GraphResource + "/.default",
			wantRoles: []string{identity.GraphIncidentReadWrite, identity.GraphHunting, identity.GraphAlertReadWrite},
		},
		{
			name: "secret, domain authority", tenant: identity.HomeTenantDomain, clientID: identity.ClientID,
			cred: secretCred(identity.ClientSecret), scope: identity.XDRResource + "/.default",
			wantRoles: []string{identity.XDRIncidentReadWrite, identity.XDRHunting},
		},
		{
			name: "certificate", tenant: identity.HomeTenantID, clientID: identity.ClientID,
			cred: certCred, scope: identity.XDRResourceAlt + "/.default",
			wantRoles: []string{identity.XDRIncidentReadWrite, identity.XDRHunting},
		},
		{
			name: "certificate, domain authority", tenant: identity.HomeTenantDomain, clientID: identity.ClientID,
			cred: certCred, scope: identity.GraphResource + "/.default",
			wantRoles: []string{identity.GraphIncidentReadWrite, identity.GraphHunting, identity.GraphAlertReadWrite},
		},
		{
			name: "read-only app", tenant: identity.HomeTenantID, clientID: identity.ReadOnlyClientID,
			cred: secretCred(identity.ReadOnlyClientSecret), scope: identity.GraphResource + "/.default",
			wantRoles: []string{identity.GraphIncidentRead, identity.GraphAlertRead},
		},
		{
			name: "wrong secret", tenant: identity.HomeTenantID, clientID: identity.ClientID,
			cred: secretCred("wrong"), scope: identity.GraphResource + "/.default", wantErr: "AADSTS7000215",
		},
		{
			name: "unknown client", tenant: identity.HomeTenantID, clientID: "99999999-9999-4999-8999-999999999999",
			cred: secretCred("x"), scope: identity.GraphResource + "/.default", wantErr: "AADSTS700016",
		},
		{
			name: "scope without .default", tenant: identity.HomeTenantID, clientID: identity.ClientID,
			cred: secretCred(identity.ClientSecret), scope: identity.GraphResource + "/SecurityIncident.Read.All", wantErr: "AADSTS70011",
		},
		{
			name: "unknown resource", tenant: identity.HomeTenantID, clientID: identity.ClientID,
			cred: secretCred(identity.ClientSecret), scope: "https://management.azure.com/.default", wantErr: "AADSTS500011",
		},
		{
			name: "tenant without consent", tenant: identity.ThirdTenantID, clientID: identity.ClientID,
			cred: secretCred(identity.ClientSecret), scope: identity.GraphResource + "/.default", wantErr: "AADSTS65001",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, err := confidential.New(e.AuthorityHost()+"/"+tt.tenant, tt.clientID, tt.cred,
				confidential.WithInstanceDiscovery(false),
				confidential.WithHTTPClient(e.HTTPClient()))
			if err != nil {
				t.Fatalf("confidential.New: %v", err)
			}
			ctx := context.Background()
			before := e.TokenRequests()
			res, err := app.AcquireTokenByCredential(ctx, []string{tt.scope})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("AcquireTokenByCredential: %v", err)
			}
			if got := e.TokenRequests() - before; got != 1 {
				t.Errorf("first call made %d token requests, want 1", got)
			}
			c, err := e.Entra().Verify(res.AccessToken)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			wantAud := strings.TrimSuffix(tt.scope, "/.default")
			if c.Audience != wantAud || c.TenantID != identity.HomeTenantID || c.AppID != tt.clientID || !slices.Equal(c.Roles, tt.wantRoles) {
				t.Errorf("claims = %+v; want aud %s, tid %s, roles %v", c, wantAud, identity.HomeTenantID, tt.wantRoles)
			}

			before = e.TokenRequests()
			again, err := app.AcquireTokenByCredential(ctx, []string{tt.scope})
			if err != nil {
				t.Fatalf("second AcquireTokenByCredential: %v", err)
			}
			if got := e.TokenRequests() - before; got != 0 || again.AccessToken != res.AccessToken {
				t.Errorf("second call made %d token requests (same token: %v), want 0 (cached)", got, again.AccessToken == res.AccessToken)
			}
		})
	}
}
