package entra

import (
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is SHA-1 by definition.
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// assertionSpec describes a client assertion; zero fields get valid values.
type assertionSpec struct {
	method   jwt.SigningMethod // default PS256
	key      *rsa.PrivateKey   // default the registered client key
	sha1x5t  bool              // name the cert by x5t instead of x5t#S256
	noThumb  bool
	aud      string // default the home tenant token URL
	iss, sub string // default identity.ClientID
	exp      time.Time
}

func (f *fixture) assertion(t *testing.T, s assertionSpec) string {
	t.Helper()
	if s.method == nil {
		s.method = jwt.SigningMethodPS256
	}
	if s.key == nil {
		s.key = f.clientKey
	}
	if s.aud == "" {
		s.aud = f.tokenURL(identity.HomeTenantID)
	}
	if s.iss == "" {
		s.iss = identity.ClientID
	}
	if s.sub == "" {
		s.sub = identity.ClientID
	}
	if s.exp.IsZero() {
		s.exp = time.Now().Add(10 * time.Minute)
	}
	tok := jwt.NewWithClaims(s.method, jwt.MapClaims{
		"aud": s.aud, "iss": s.iss, "sub": s.sub, "jti": "1",
		"exp": s.exp.Unix(), "nbf": time.Now().Unix(),
	})
	switch {
	case s.noThumb:
	case s.sha1x5t:
		sum := sha1.Sum(f.clientCert.Raw) //nolint:gosec // see import
		tok.Header["x5t"] = base64.RawURLEncoding.EncodeToString(sum[:])
	default:
		sum := sha256.Sum256(f.clientCert.Raw)
		tok.Header["x5t#S256"] = base64.StdEncoding.EncodeToString(sum[:])
	}
	signed, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func secretForm(clientID, secret, scope string) url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
		"scope":         {scope},
	}
}

func assertionForm(assertion string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {identity.ClientID},
		"client_assertion_type": {assertionTypeJWTBearer},
		"client_assertion":      {assertion},
		"scope":                 {identity.XDRResource + "/.default openid offline_access profile"},
	}
}

func TestTokenEndpoint(t *testing.T) {
	f := newFixture(t)
	graphScope := identity.GraphResource + "/.default openid offline_access profile"
	withoutSecret := secretForm(identity.ClientID, "", graphScope)
	withoutSecret.Del("client_secret")
	withGrant := func(v url.Values, grant string) url.Values { v.Set("grant_type", grant); return v }
	withAssertionType := func(v url.Values, typ string) url.Values { v.Set("client_assertion_type", typ); return v }

	tests := []struct {
		name       string
		tenant     string // default the home tenant ID
		form       url.Values
		wantStatus int
		wantError  string
		wantCode   int
		// for successes
		wantAud   string
		wantRoles []string
		wantACR   string
	}{
		{
			name: "secret, graph", form: secretForm(identity.ClientID, identity.ClientSecret, graphScope),
			wantStatus: 200, wantAud: identity.GraphResource, wantACR: acrSecret,
			wantRoles: []string{identity.GraphIncidentReadWrite, identity.GraphHunting, identity.GraphAlertReadWrite},
		},
		{
			name: "secret, xdr alt resource, domain authority", tenant: identity.HomeTenantDomain,
			form:       secretForm(identity.ClientID, identity.ClientSecret, identity.XDRResourceAlt+"/.default"),
			wantStatus: 200, wantAud: identity.XDRResourceAlt, wantACR: acrSecret,
			wantRoles: []string{identity.XDRIncidentReadWrite, identity.XDRHunting},
		},
		{
			name: "read-only app", form: secretForm(identity.ReadOnlyClientID, identity.ReadOnlyClientSecret, identity.XDRResource+"/.default"),
			wantStatus: 200, wantAud: identity.XDRResource, wantACR: acrSecret, wantRoles: []string{identity.XDRIncidentRead},
		},
		{
			name: "PS256 assertion with x5t#S256", form: assertionForm(f.assertion(t, assertionSpec{})),
			wantStatus: 200, wantAud: identity.XDRResource, wantACR: acrCertificate,
			wantRoles: []string{identity.XDRIncidentReadWrite, identity.XDRHunting},
		},
		{
			name: "RS256 assertion with x5t", form: assertionForm(f.assertion(t, assertionSpec{method: jwt.SigningMethodRS256, sha1x5t: true})),
			wantStatus: 200, wantAud: identity.XDRResource, wantACR: acrCertificate,
			wantRoles: []string{identity.XDRIncidentReadWrite, identity.XDRHunting},
		},
		{
			name: "assertion aud names the tenant by domain", tenant: identity.HomeTenantDomain,
			form:       assertionForm(f.assertion(t, assertionSpec{aud: f.tokenURL(identity.HomeTenantDomain)})),
			wantStatus: 200, wantAud: identity.XDRResource, wantACR: acrCertificate,
			wantRoles: []string{identity.XDRIncidentReadWrite, identity.XDRHunting},
		},
		{name: "wrong secret", form: secretForm(identity.ClientID, "nope", graphScope), wantStatus: 401, wantError: "invalid_client", wantCode: 7000215},
		{name: "read-only app with sandbox secret", form: secretForm(identity.ReadOnlyClientID, identity.ClientSecret, graphScope), wantStatus: 401, wantError: "invalid_client", wantCode: 7000215},
		{name: "unknown client", form: secretForm("11111111-2222-3333-4444-555555555555", "x", graphScope), wantStatus: 400, wantError: "unauthorized_client", wantCode: 700016},
		{name: "no client_id", form: secretForm("", "x", graphScope), wantStatus: 400, wantError: "invalid_request", wantCode: 900144},
		{name: "no credential", form: withoutSecret, wantStatus: 401, wantError: "invalid_client", wantCode: 7000218},
		{name: "no scope", form: secretForm(identity.ClientID, identity.ClientSecret, "openid profile"), wantStatus: 400, wantError: "invalid_scope", wantCode: 70011},
		{name: "two resources", form: secretForm(identity.ClientID, identity.ClientSecret, identity.GraphResource+"/.default "+identity.XDRResource+"/.default"), wantStatus: 400, wantError: "invalid_scope", wantCode: 70011},
		{name: "scope without .default", form: secretForm(identity.ClientID, identity.ClientSecret, identity.GraphResource+"/SecurityIncident.Read.All"), wantStatus: 400, wantError: "invalid_scope", wantCode: 70011},
		{name: "unknown resource", form: secretForm(identity.ClientID, identity.ClientSecret, "https://management.azure.com/.default"), wantStatus: 400, wantError: "invalid_resource", wantCode: 500011},
		{name: "tenant without consent", tenant: identity.ThirdTenantID, form: secretForm(identity.ClientID, identity.ClientSecret, graphScope), wantStatus: 400, wantError: "invalid_grant", wantCode: 65001},
		{name: "unknown tenant", tenant: "nobody.example", form: secretForm(identity.ClientID, identity.ClientSecret, graphScope), wantStatus: 400, wantError: "invalid_request", wantCode: 90002},
		{name: "unsupported grant", form: withGrant(secretForm(identity.ClientID, identity.ClientSecret, graphScope), "password"), wantStatus: 400, wantError: "unsupported_grant_type", wantCode: 70003},
		{name: "missing grant", form: withGrant(secretForm(identity.ClientID, identity.ClientSecret, graphScope), ""), wantStatus: 400, wantError: "invalid_request", wantCode: 900144},
		{name: "assertion wrong type", form: withAssertionType(assertionForm(f.assertion(t, assertionSpec{})), "jwt"), wantStatus: 401, wantError: "invalid_client", wantCode: 700027},
		{name: "assertion signed by another key", form: assertionForm(f.assertion(t, assertionSpec{key: f.otherKey})), wantStatus: 401, wantError: "invalid_client", wantCode: 700027},
		{name: "assertion without thumbprint", form: assertionForm(f.assertion(t, assertionSpec{noThumb: true})), wantStatus: 401, wantError: "invalid_client", wantCode: 700027},
		{name: "assertion for another tenant", form: assertionForm(f.assertion(t, assertionSpec{aud: f.tokenURL(identity.SecondTenantID)})), wantStatus: 401, wantError: "invalid_client", wantCode: 700027},
		{name: "assertion for another host", form: assertionForm(f.assertion(t, assertionSpec{aud: "https://login.microsoftonline.com/" + identity.HomeTenantID + "/oauth2/v2.0/token"})), wantStatus: 401, wantError: "invalid_client", wantCode: 700027},
		{name: "assertion with wrong issuer", form: assertionForm(f.assertion(t, assertionSpec{iss: identity.ReadOnlyClientID})), wantStatus: 401, wantError: "invalid_client", wantCode: 700027},
		{name: "assertion with wrong subject", form: assertionForm(f.assertion(t, assertionSpec{sub: "someone"})), wantStatus: 401, wantError: "invalid_client", wantCode: 700027},
		{name: "expired assertion", form: assertionForm(f.assertion(t, assertionSpec{exp: time.Now().Add(-time.Hour)})), wantStatus: 401, wantError: "invalid_client", wantCode: 700027},
		{name: "garbage assertion", form: assertionForm("not.a.jwt"), wantStatus: 401, wantError: "invalid_client", wantCode: 700027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := tt.tenant
			if tenant == "" {
				tenant = identity.HomeTenantID
			}
			status, body := f.post(t, "/"+tenant+"/oauth2/v2.0/token", tt.form, nil)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %v", status, tt.wantStatus, body)
			}
			if tt.wantStatus != http.StatusOK {
				if body["error"] != tt.wantError || aadstsCode(body) != tt.wantCode {
					t.Errorf("error = %v %v, want %s [%d]; %v", body["error"], body["error_codes"], tt.wantError, tt.wantCode, body["error_description"])
				}
				return
			}
			if body["token_type"] != "Bearer" || body["expires_in"] != float64(3599) || body["ext_expires_in"] != float64(3599) {
				t.Errorf("response = %v", body)
			}
			c, err := f.srv.Verify(body["access_token"].(string))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Audience != tt.wantAud || c.TenantID != identity.HomeTenantID || !slices.Equal(c.Roles, tt.wantRoles) {
				t.Errorf("claims = %+v, want aud %s, tid %s, roles %v", c, tt.wantAud, identity.HomeTenantID, tt.wantRoles)
			}
			raw := decodeClaims(t, body["access_token"].(string))
			if raw["appidacr"] != tt.wantACR {
				t.Errorf("appidacr = %v, want %s", raw["appidacr"], tt.wantACR)
			}
		})
	}
}

func TestErrorBodyShape(t *testing.T) {
	f := newFixture(t)
	status, body := f.post(t, "/"+identity.HomeTenantID+"/oauth2/v2.0/token",
		secretForm(identity.ClientID, "wrong", identity.GraphResource+"/.default"),
		http.Header{"Client-Request-Id": {"my-correlation"}})
	if status != http.StatusUnauthorized {
		t.Fatalf("status = %d", status)
	}
	if d, _ := body["error_description"].(string); len(d) < 14 || d[:14] != "AADSTS7000215:" {
		t.Errorf("error_description = %q, want AADSTS7000215: prefix", d)
	}
	if body["correlation_id"] != "my-correlation" {
		t.Errorf("correlation_id = %v, want the client-request-id", body["correlation_id"])
	}
	for _, k := range []string{"timestamp", "trace_id"} {
		if s, _ := body[k].(string); s == "" {
			t.Errorf("%s missing", k)
		}
	}
}

func TestTokenClaims(t *testing.T) {
	f := newFixture(t)
	_, body := f.post(t, "/"+identity.HomeTenantID+"/oauth2/v2.0/token",
		secretForm(identity.ClientID, identity.ClientSecret, identity.GraphResource+"/.default"), nil)
	first := decodeClaims(t, body["access_token"].(string))
	_, body = f.post(t, "/"+identity.HomeTenantID+"/oauth2/v2.0/token",
		secretForm(identity.ClientID, identity.ClientSecret, identity.GraphResource+"/.default"), nil)
	second := decodeClaims(t, body["access_token"].(string))

	want := map[string]any{
		"aud":   identity.GraphResource,
		"iss":   "https://sts.windows.net/" + identity.HomeTenantID + "/",
		"tid":   identity.HomeTenantID,
		"appid": identity.ClientID,
		"azp":   identity.ClientID,
		"idtyp": "app",
		"ver":   "1.0",
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %v, want %v", k, first[k], v)
		}
	}
	if first["oid"] == "" || first["oid"] != first["sub"] || first["oid"] != second["oid"] {
		t.Errorf("oid/sub = %v/%v, want one stable service principal id", first["oid"], first["sub"])
	}
	if first["jti"] == second["jti"] {
		t.Errorf("jti %v repeated", first["jti"])
	}
	iat, exp := first["iat"].(float64), first["exp"].(float64)
	if exp-iat != 3600 || first["nbf"] != first["iat"] {
		t.Errorf("iat %v nbf %v exp %v, want a 1h lifetime", iat, first["nbf"], exp)
	}
}

func TestTokenLifetime(t *testing.T) {
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Apps: SandboxApps(nil), SigningKey: keys[0], TokenLifetime: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	token, expiresIn, err := srv.issueAppToken(SandboxApps(nil)[0], acrSecret, identity.HomeTenantID, identity.GraphResource)
	if err != nil {
		t.Fatal(err)
	}
	c := decodeClaims(t, token)
	if expiresIn != 299 || c["exp"].(float64)-c["iat"].(float64) != 300 {
		t.Errorf("expires_in %d, exp-iat %v; want 299 and 300", expiresIn, c["exp"].(float64)-c["iat"].(float64))
	}
}

func TestTokenRequestCounters(t *testing.T) {
	f := newFixture(t)
	send := func(tenant, clientID, secret string) {
		f.post(t, "/"+tenant+"/oauth2/v2.0/token", secretForm(clientID, secret, identity.GraphResource+"/.default"), nil)
	}
	send(identity.HomeTenantID, identity.ClientID, identity.ClientSecret)
	send(identity.HomeTenantDomain, identity.ClientID, "wrong")
	send(identity.SecondTenantID, identity.ClientID, identity.ClientSecret)
	send(identity.HomeTenantID, identity.ReadOnlyClientID, identity.ReadOnlyClientSecret)
	f.get(t, "/"+identity.HomeTenantID+"/discovery/v2.0/keys")

	if got := f.srv.TokenRequests(); got != 4 {
		t.Errorf("TokenRequests = %d, want 4", got)
	}
	for _, tc := range []struct {
		tenant, client string
		want           int
	}{
		{identity.HomeTenantID, identity.ClientID, 2},
		{identity.SecondTenantID, identity.ClientID, 1},
		{identity.HomeTenantID, identity.ReadOnlyClientID, 1},
		{identity.SecondTenantID, identity.ReadOnlyClientID, 0},
	} {
		if got := f.srv.TokenRequestsFor(tc.tenant, tc.client); got != tc.want {
			t.Errorf("TokenRequestsFor(%s, %s) = %d, want %d", tc.tenant, tc.client, got, tc.want)
		}
	}
	f.srv.ResetTokenRequests()
	if got := f.srv.TokenRequests(); got != 0 {
		t.Errorf("after reset TokenRequests = %d", got)
	}
}

func decodeClaims(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, c); err != nil {
		t.Fatal(err)
	}
	return c
}
