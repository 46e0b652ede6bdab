package entra

import (
	"net/url"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func oboForm(clientID, secret, assertion, scope string) url.Values {
	return url.Values{
		"grant_type":          {grantJWTBearer},
		"requested_token_use": {"on_behalf_of"},
		"client_id":           {clientID},
		"client_secret":       {secret},
		"assertion":           {assertion},
		"scope":               {scope + " openid offline_access profile"},
	}
}

// withCertificate replaces the form's client secret by a client assertion.
func withCertificate(v url.Values, clientAssertion string) url.Values {
	v.Del("client_secret")
	v.Set("client_assertion_type", assertionTypeJWTBearer)
	v.Set("client_assertion", clientAssertion)
	return v
}

func (f *fixture) userToken(t *testing.T, spec UserTokenSpec) string {
	t.Helper()
	tok, err := f.srv.UserToken(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestOnBehalfOf(t *testing.T) {
	f := newFixture(t)
	graph := identity.GraphResource + "/.default"
	xdr := identity.XDRResource + "/.default"
	alice := f.userToken(t, UserTokenSpec{UPN: identity.AliceUPN})
	appToken := func() string {
		_, body := f.post(t, "/"+identity.HomeTenantID+"/oauth2/v2.0/token",
			secretForm(identity.CallerClientID, identity.CallerClientSecret, identity.GatewayResource+"/.default"), nil)
		return body["access_token"].(string)
	}()
	tests := []struct {
		name      string
		tenant    string
		form      url.Values
		wantError string
		wantCode  int
		wantAud   string
		wantScp   string
		wantUPN   string
	}{
		{name: "graph", form: oboForm(identity.ClientID, identity.ClientSecret, alice, graph),
			wantAud: identity.GraphResource, wantScp: identity.GraphIncidentReadWrite + " " + identity.GraphHunting + " " + identity.GraphAlertReadWrite, wantUPN: identity.AliceUPN},
		{name: "xdr, domain authority, api:// audience", tenant: identity.HomeTenantDomain,
			form:    oboForm(identity.ClientID, identity.ClientSecret, f.userToken(t, UserTokenSpec{UPN: identity.BobUPN, Audience: identity.GatewayResource}), xdr),
			wantAud: identity.XDRResource, wantScp: identity.XDRDelegatedIncidentReadWrite + " " + identity.XDRDelegatedHunting, wantUPN: identity.BobUPN},
		{name: "second tenant user", tenant: identity.SecondTenantID,
			form:    oboForm(identity.ClientID, identity.ClientSecret, f.userToken(t, UserTokenSpec{UPN: identity.CarolUPN}), graph),
			wantAud: identity.GraphResource, wantScp: identity.GraphIncidentReadWrite + " " + identity.GraphHunting + " " + identity.GraphAlertReadWrite, wantUPN: identity.CarolUPN},
		{name: "forged", form: oboForm(identity.ClientID, identity.ClientSecret, f.userToken(t, UserTokenSpec{UPN: identity.AliceUPN, Forged: true}), graph),
			wantError: "invalid_grant", wantCode: 50013},
		{name: "expired", form: oboForm(identity.ClientID, identity.ClientSecret, f.userToken(t, UserTokenSpec{UPN: identity.AliceUPN,
			IssuedAt: time.Now().Add(-2 * time.Hour), NotBefore: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)}), graph),
			wantError: "invalid_grant", wantCode: 500133},
		{name: "wrong audience", form: oboForm(identity.ClientID, identity.ClientSecret, f.userToken(t, UserTokenSpec{UPN: identity.AliceUPN, Audience: identity.ReadOnlyClientID}), graph),
			wantError: "invalid_grant", wantCode: 50013},
		{name: "app token as assertion", form: oboForm(identity.ClientID, identity.ClientSecret, appToken, graph),
			wantError: "invalid_grant", wantCode: 50013},
		{name: "assertion of another tenant", tenant: identity.SecondTenantID, form: oboForm(identity.ClientID, identity.ClientSecret, alice, graph),
			wantError: "invalid_grant", wantCode: 50013},
		{name: "no delegated consent", form: oboForm(identity.ReadOnlyClientID, identity.ReadOnlyClientSecret,
			f.userToken(t, UserTokenSpec{UPN: identity.AliceUPN, Audience: identity.ReadOnlyClientID}), graph),
			wantError: "invalid_grant", wantCode: 65001},
		{name: "untrusted issuer", form: oboForm(identity.ClientID, identity.ClientSecret, f.userToken(t, UserTokenSpec{UPN: identity.AliceUPN, Issuer: "https://evil.example/" + identity.HomeTenantID + "/v2.0"}), graph),
			wantError: "invalid_grant", wantCode: 50013},
		{name: "certificate credential", form: withCertificate(oboForm(identity.ClientID, "", alice, xdr), f.assertion(t, assertionSpec{})),
			wantAud: identity.XDRResource, wantScp: identity.XDRDelegatedIncidentReadWrite + " " + identity.XDRDelegatedHunting, wantUPN: identity.AliceUPN},
		{name: "no client credential", form: oboForm(identity.ClientID, "", alice, graph), wantError: "invalid_client", wantCode: 7000218},
		{name: "requested_token_use missing", form: func() url.Values {
			v := oboForm(identity.ClientID, identity.ClientSecret, alice, graph)
			v.Del("requested_token_use")
			return v
		}(),
			wantError: "invalid_request", wantCode: 900144},
		{name: "wrong secret", form: oboForm(identity.ClientID, "nope", alice, graph), wantError: "invalid_client", wantCode: 7000215},
		{name: "no assertion", form: oboForm(identity.ClientID, identity.ClientSecret, "", graph), wantError: "invalid_request", wantCode: 900144},
		{name: "unknown resource", form: oboForm(identity.ClientID, identity.ClientSecret, alice, "https://management.azure.com/.default"), wantError: "invalid_resource", wantCode: 500011},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := tt.tenant
			if tenant == "" {
				tenant = identity.HomeTenantID
			}
			status, body := f.post(t, "/"+tenant+"/oauth2/v2.0/token", tt.form, nil)
			if tt.wantError != "" {
				if status < 400 || body["error"] != tt.wantError || aadstsCode(body) != tt.wantCode {
					t.Fatalf("status %d error %v %v, want %s [%d]; %v", status, body["error"], body["error_codes"], tt.wantError, tt.wantCode, body["error_description"])
				}
				if tt.wantCode == 65001 && body["suberror"] != "consent_required" {
					t.Errorf("suberror = %v, want consent_required", body["suberror"])
				}
				return
			}
			if status != 200 {
				t.Fatalf("status %d: %v", status, body)
			}
			c, err := f.srv.Verify(body["access_token"].(string))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			raw := decodeClaims(t, body["access_token"].(string))
			user, _ := identity.UserByUPN(tt.wantUPN)
			if c.Audience != tt.wantAud || raw["scp"] != tt.wantScp || c.UPN != tt.wantUPN || c.ObjectID != user.ObjectID ||
				c.TenantID != user.TenantID || c.AppID != identity.ClientID || raw["azp"] != identity.ClientID ||
				raw["idtyp"] != "user" || raw["name"] != user.DisplayName || len(c.Roles) != 0 {
				t.Errorf("claims = %v", raw)
			}
			for _, k := range []string{"refresh_token", "id_token", "client_info"} {
				if s, _ := body[k].(string); s == "" {
					t.Errorf("%s missing", k)
				}
			}
		})
	}
}
