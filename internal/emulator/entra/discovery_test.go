package entra

import (
	"encoding/base64"
	"math/big"
	"net/http"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestDiscovery(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name       string
		tenant     string
		wantStatus int
		wantTenant string // the tenant ID the endpoints must name
		wantCode   int
	}{
		{"tenant id", identity.HomeTenantID, http.StatusOK, identity.HomeTenantID, 0},
		{"domain", identity.HomeTenantDomain, http.StatusOK, identity.HomeTenantID, 0},
		{"domain any case", "FABRIKAM.onmicrosoft.com", http.StatusOK, identity.SecondTenantID, 0},
		{"unknown tenant", "nobody.onmicrosoft.com", http.StatusBadRequest, "", 90002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.get(t, "/"+tt.tenant+"/v2.0/.well-known/openid-configuration")
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%v)", status, tt.wantStatus, body)
			}
			if tt.wantCode != 0 {
				if got := aadstsCode(body); got != tt.wantCode {
					t.Errorf("error_codes = %v, want [%d]", body["error_codes"], tt.wantCode)
				}
				return
			}
			base := f.ts.URL + "/" + tt.wantTenant
			want := map[string]string{
				"issuer":                        base + "/v2.0",
				"authorization_endpoint":        base + "/oauth2/v2.0/authorize",
				"token_endpoint":                base + "/oauth2/v2.0/token",
				"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
				"jwks_uri":                      base + "/discovery/v2.0/keys",
			}
			for k, v := range want {
				if body[k] != v {
					t.Errorf("%s = %v, want %s", k, body[k], v)
				}
			}
			for _, k := range []string{"response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported"} {
				if l, _ := body[k].([]any); len(l) == 0 {
					t.Errorf("%s missing or empty", k)
				}
			}
		})
	}
}

func TestKeys(t *testing.T) {
	f := newFixture(t)
	status, body := f.get(t, "/"+identity.HomeTenantDomain+"/discovery/v2.0/keys")
	if status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}
	keys, _ := body["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("keys = %v, want one key", body["keys"])
	}
	k, _ := keys[0].(map[string]any)
	n, err := base64.RawURLEncoding.DecodeString(k["n"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if new(big.Int).SetBytes(n).Cmp(f.srv.key.N) != 0 {
		t.Error("n does not match the signing key")
	}
	if k["kid"] != f.srv.keyID || k["kty"] != "RSA" || k["use"] != "sig" {
		t.Errorf("key = %v", k)
	}

	if status, body := f.get(t, "/unknown/discovery/v2.0/keys"); status != http.StatusBadRequest || aadstsCode(body) != 90002 {
		t.Errorf("unknown tenant: status %d, body %v", status, body)
	}
}
