package entra

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// verifyV2 checks a v2 token's signature against the server key, as the
// gateway does through the JWKS.
func verifyV2(f *fixture, token string) (jwt.MapClaims, error) {
	c := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, c, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != f.srv.keyID {
			return nil, errors.New("kid")
		}
		return &f.srv.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(f.clock.Now))
	return c, err
}

func TestUserToken(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		spec    UserTokenSpec
		wantErr bool // from UserToken
		sigErr  bool // from verification
		want    map[string]any
	}{
		{name: "defaults", spec: UserTokenSpec{UPN: identity.AliceUPN}, want: map[string]any{
			"aud": identity.ClientID, "azp": identity.CLIClientID, "scp": identity.GatewayScope,
			"oid": identity.AliceObjectID, "tid": identity.HomeTenantID, "upn": identity.AliceUPN,
			"preferred_username": identity.AliceUPN, "name": identity.AliceName, "ver": "2.0", "idtyp": "user",
			"iss": f.ts.URL + "/" + identity.HomeTenantID + "/v2.0",
		}},
		{name: "overrides", spec: UserTokenSpec{UPN: identity.CarolUPN, Audience: "api://x", ClientID: "c", Scopes: []string{"a", "b"},
			Issuer: "https://evil/v2.0", Tenant: identity.HomeTenantID}, want: map[string]any{
			"aud": "api://x", "azp": "c", "scp": "a b", "iss": "https://evil/v2.0", "tid": identity.HomeTenantID, "oid": identity.CarolObjectID,
		}},
		{name: "forged", spec: UserTokenSpec{UPN: identity.BobUPN, Forged: true}, sigErr: true},
		{name: "expired", spec: UserTokenSpec{UPN: identity.BobUPN, ExpiresAt: time.Now().Add(-time.Minute)}, sigErr: true},
		{name: "unknown user", spec: UserTokenSpec{UPN: "nobody@contoso.onmicrosoft.com"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := f.srv.UserToken(tt.spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("UserToken err = %v", err)
			}
			if err != nil {
				return
			}
			c, err := verifyV2(f, tok)
			if (err != nil) != tt.sigErr {
				t.Fatalf("verify err = %v, want error %v", err, tt.sigErr)
			}
			if tt.sigErr {
				return
			}
			for k, v := range tt.want {
				if c[k] != v {
					t.Errorf("%s = %v, want %v", k, c[k], v)
				}
			}
		})
	}
}

func TestGatewayAppToken(t *testing.T) {
	f := newFixture(t)
	status, body := f.post(t, "/"+identity.HomeTenantDomain+"/oauth2/v2.0/token",
		secretForm(identity.CallerClientID, identity.CallerClientSecret, identity.GatewayResource+"/.default"), nil)
	if status != 200 {
		t.Fatalf("status %d %v", status, body)
	}
	c, err := verifyV2(f, body["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	roles, _ := c["roles"].([]any)
	if c["aud"] != identity.ClientID || c["iss"] != f.ts.URL+"/"+identity.HomeTenantID+"/v2.0" || c["azp"] != identity.CallerClientID ||
		c["idtyp"] != "app" || c["ver"] != "2.0" || len(roles) != 1 || roles[0] != identity.GatewayRole {
		t.Errorf("claims = %v", c)
	}
	if _, err := f.srv.Verify(body["access_token"].(string)); err == nil {
		t.Error("Verify (v1 only, for the fake APIs) accepted a gateway token")
	}
}
