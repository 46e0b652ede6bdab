package emulator

import (
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// TestUserTokenMatchesDiscovery checks what the gateway relies on: a
// UserToken's issuer is the discovery document's issuer and its kid is in
// the JWKS at jwks_uri.
func TestUserTokenMatchesDiscovery(t *testing.T) {
	e := startTest(t, Options{})
	for _, upn := range []string{identity.AliceUPN, identity.CarolUPN} {
		t.Run(upn, func(t *testing.T) {
			user, _ := identity.UserByUPN(upn)
			tok, err := e.UserToken(UserTokenSpec{UPN: upn})
			if err != nil {
				t.Fatal(err)
			}
			c := jwt.MapClaims{}
			parsed, _, err := jwt.NewParser().ParseUnverified(tok, c)
			if err != nil {
				t.Fatal(err)
			}
			disco := call(t, e, http.MethodGet, e.AuthorityHost()+"/"+user.TenantID+"/v2.0/.well-known/openid-configuration", "")
			if c["iss"] != disco.body["issuer"] {
				t.Errorf("iss %v, discovery issuer %v", c["iss"], disco.body["issuer"])
			}
			jwks := call(t, e, http.MethodGet, disco.body["jwks_uri"].(string), "")
			keys, _ := jwks.body["keys"].([]any)
			if len(keys) != 1 || keys[0].(map[string]any)["kid"] != parsed.Header["kid"] {
				t.Errorf("kid %v not in JWKS %v", parsed.Header["kid"], keys)
			}
		})
	}
	if _, err := e.UserToken(UserTokenSpec{UPN: "nobody@contoso.onmicrosoft.com"}); err == nil {
		t.Error("UserToken for an unknown user succeeded")
	}
}
