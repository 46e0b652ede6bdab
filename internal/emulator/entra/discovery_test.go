package entra

import (
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
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
				if got := aadstsCode(body); got != tt.wantCode || body["error"] != "invalid_tenant" {
					t.Errorf("error %v, error_codes = %v; want invalid_tenant [%d], as Entra", body["error"], body["error_codes"], tt.wantCode)
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

func TestDiscoveryOfATenantWithSeveralDomains(t *testing.T) {
	const id = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Tenants: []Tenant{{ID: id, Domains: []string{"adatum.onmicrosoft.com", "adatum.example"}}}, SigningKey: keys[0]})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv)
	t.Cleanup(ts.Close)
	for _, tenant := range []string{id, strings.ToUpper(id), "adatum.onmicrosoft.com", "ADATUM.example", "adatum.com", identity.HomeTenantDomain} {
		resp, err := ts.Client().Get(ts.URL + "/" + tenant + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Issuer string `json:"issuer"`
			Error  string `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		known := !strings.HasSuffix(tenant, "adatum.com") && tenant != identity.HomeTenantDomain
		switch {
		case err != nil:
			t.Errorf("%s: %v", tenant, err)
		case known && (resp.StatusCode != http.StatusOK || doc.Issuer != ts.URL+"/"+id+"/v2.0"):
			t.Errorf("%s: %d issuer %q, want the tenant id in the issuer", tenant, resp.StatusCode, doc.Issuer)
		case !known && (resp.StatusCode != http.StatusBadRequest || doc.Error != "invalid_tenant"):
			t.Errorf("%s: %d %q, want 400 invalid_tenant", tenant, resp.StatusCode, doc.Error)
		}
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
