package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
)

func loadPartners(t *testing.T, file string, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	env["DEFENDER_TENANT_ID"] = "home.example.com"
	env["DEFENDER_CLIENT_ID"] = "c1"
	env["DEFENDER_CLIENT_SECRET"] = "s"
	env["DEFENDER_GRPC_ADDR"] = "127.0.0.1:50051"
	env["DEFENDER_HTTP_ADDR"] = "127.0.0.1:8080"
	if file != "" {
		path := filepath.Join(t.TempDir(), "partners.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		env["DEFENDER_PARTNER_TENANTS_FILE"] = path
	}
	c, err := Load(args, func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func TestPartnerTenantsDefaultsAndOverrides(t *testing.T) {
	c, err := loadPartners(t, `
- tenant: fabrikam.example.com
  display_name: Fabrikam
- tenant: 7c9d1e3f-2a4b-4c5d-8e6f-0a1b2c3d4e5f
  backend: XDR
- tenant: gov.example.com
  backend: xdr
  api_url: https://api-gov.security.microsoft.us
  authority_host: https://login.microsoftonline.us
  scope: https://api-gov.security.microsoft.us/.default
`, map[string]string{"DEFENDER_PARTNER_TENANTS": "northwind.example.com=Northwind Traders, adatum.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Partners()
	want := []PartnerTenant{
		{Tenant: "fabrikam.example.com", DisplayName: "Fabrikam", Backend: defender.BackendGraph, APIURL: "https://graph.microsoft.com/v1.0", AuthorityHost: DefaultAuthorityHost, Scope: "https://graph.microsoft.com/.default"},
		{Tenant: "7c9d1e3f-2a4b-4c5d-8e6f-0a1b2c3d4e5f", Backend: defender.BackendXDR, APIURL: "https://api.security.microsoft.com", AuthorityHost: DefaultAuthorityHost, Scope: "https://api.security.microsoft.com/.default"},
		{Tenant: "gov.example.com", Backend: defender.BackendXDR, APIURL: "https://api-gov.security.microsoft.us", AuthorityHost: "https://login.microsoftonline.us", Scope: "https://api-gov.security.microsoft.us/.default"},
		{Tenant: "northwind.example.com", DisplayName: "Northwind Traders", Backend: defender.BackendGraph, APIURL: "https://graph.microsoft.com/v1.0", AuthorityHost: DefaultAuthorityHost, Scope: "https://graph.microsoft.com/.default"},
		{Tenant: "adatum.example.com", Backend: defender.BackendGraph, APIURL: "https://graph.microsoft.com/v1.0", AuthorityHost: DefaultAuthorityHost, Scope: "https://graph.microsoft.com/.default"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d tenants, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g := got[i]
		g.source = ""
		if g != want[i] {
			t.Errorf("tenant %d = %+v, want %+v", i, g, want[i])
		}
	}
	if s := c.LogValue().String(); !strings.Contains(s, "partner_tenants=5: fabrikam.example.com") {
		t.Errorf("config log %s lacks the partner summary", s)
	}
}

func TestPartnerTenantsRejected(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want string
	}{
		{name: "unknown key", file: "- tenant: a.example.com\n  tennant_id: x\n", want: "field tennant_id not found"},
		{name: "not a list", file: "tenant: a.example.com\n", want: "DEFENDER_PARTNER_TENANTS_FILE"},
		{name: "missing tenant", file: "- display_name: A\n", want: "entry 1 (\"\"): tenant is required"},
		{name: "duplicate in file", file: "- tenant: a.example.com\n- tenant: A.example.com\n", want: "listed more than once"},
		{name: "duplicate across file and list", file: "- tenant: a.example.com\n", env: map[string]string{"DEFENDER_PARTNER_TENANTS": "a.EXAMPLE.com"}, want: "listed more than once"},
		{name: "bad backend", file: "- tenant: a.example.com\n  backend: mde\n", want: `backend "mde" is not a backend`},
		{name: "http api url", file: "- tenant: a.example.com\n  api_url: http://api.example.com\n", want: "api_url"},
		{name: "authority with path", file: "- tenant: a.example.com\n  authority_host: https://login.example.com/x\n", want: "authority_host"},
		{name: "alias tenant", env: map[string]string{"DEFENDER_PARTNER_TENANTS": "common"}, want: "is an alias"},
		{name: "home tenant", env: map[string]string{"DEFENDER_PARTNER_TENANTS": "HOME.example.com"}, want: "is the home tenant"},
		{name: "bad tenant", env: map[string]string{"DEFENDER_PARTNER_TENANTS": "a b"}, want: "GUID or a verified domain"},
		{name: "empty tenant in list", env: map[string]string{"DEFENDER_PARTNER_TENANTS": "=Name"}, want: "has no tenant"},
		{name: "redirect not https", env: map[string]string{"DEFENDER_CONSENT_REDIRECT_URI": "http://gw.example.com/cb"}, want: "DEFENDER_CONSENT_REDIRECT_URI"},
		{name: "redirect relative", env: map[string]string{"DEFENDER_CONSENT_REDIRECT_URI": "/cb"}, want: "DEFENDER_CONSENT_REDIRECT_URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := loadPartners(t, tt.file, env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestConsentRedirectLoopbackHTTP(t *testing.T) {
	if _, err := loadPartners(t, "", map[string]string{"DEFENDER_CONSENT_REDIRECT_URI": "http://localhost:8400/done"}); err != nil {
		t.Errorf("loopback http redirect refused: %v", err)
	}
}
