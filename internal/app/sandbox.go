package app

import (
	"fmt"
	"io"
	"net"

	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// useSandbox points the configuration at the in-process emulator: its
// authority, its API for the chosen backend, and its sandbox app
// registration. The real code path (MSAL, HTTPS, the backend client) runs
// unchanged against it.
func useSandbox(cfg *config.Config, emu *emulator.Emulator) {
	cfg.TenantID = identity.HomeTenantID
	cfg.ClientID = identity.ClientID
	cfg.ClientSecret = config.Secret(identity.ClientSecret)
	cfg.ClientCertificatePEM = nil
	cfg.ClientCertificateFile = ""
	cfg.ClientSecretFile = ""
	cfg.AuthorityHost = emu.AuthorityHost()
	if cfg.Backend == defender.BackendXDR {
		cfg.APIURL = emu.XDRURL()
		cfg.Scope = identity.XDRResource + "/.default"
	} else {
		cfg.APIURL = emu.GraphURL()
		cfg.Scope = identity.GraphResource + "/.default"
	}
	if len(cfg.PartnerTenants) == 0 {
		cfg.PartnerTenants = []config.PartnerTenant{
			{Tenant: identity.SecondTenantDomain, DisplayName: "Fabrikam (consented)"},
			{Tenant: identity.ThirdTenantDomain, DisplayName: "Northwind (no consent yet)"},
		}
	}
	if cfg.ConsentRedirectURI == "" {
		cfg.ConsentRedirectURI = sandboxConsentRedirectURI
	}
}

// sandboxConsentRedirectURI is the loopback redirect URI of the sandbox's
// admin-consent URLs; nothing needs to listen there.
const sandboxConsentRedirectURI = "http://localhost/consent-callback"

// printSandboxBanner tells the user how to talk to the sandbox.
func printSandboxBanner(w io.Writer, grpcAddr, httpAddr string) {
	g, h := dialable(grpcAddr), dialable(httpAddr)
	fmt.Fprintf(w, `
Defender Gateway is running in SANDBOX mode against its in-process emulator
(fake Entra ID, Graph and XDR APIs with sample data; nothing leaves this machine).

  gRPC  %[1]s   (server reflection is on)
  REST  http://%[2]s   (OpenAPI: http://%[2]s/openapi.json)

Try:
  grpcurl -plaintext %[1]s list
  grpcurl -plaintext -d '{"parent":"tenants/default","page_size":3}' %[1]s defender.v1.IncidentService/ListIncidents
  grpcurl -plaintext -d '{"tenant":"tenants/default","query":"AlertInfo | summarize count() by Severity"}' %[1]s defender.v1.HuntingService/RunQuery
  curl -s 'http://%[2]s/v1/tenants/default/incidents?pageSize=3'
  curl -s http://%[2]s/v1/contexts

Partner context (customer tenants on the allow-list):
  grpcurl -plaintext -d '{"parent":"tenants/fabrikam.onmicrosoft.com","page_size":3}' %[1]s defender.v1.IncidentService/ListIncidents
  curl -s 'http://%[2]s/v1/tenants/northwind.onmicrosoft.com/incidents'        # FAILED_PRECONDITION: CONSENT_REQUIRED
  curl -s 'http://%[2]s/v1/tenants/northwind.onmicrosoft.com:consentUrl?state=xyz'

User context: sign in an emulator user by device code, then act as that account.
  grpcurl -plaintext -d '{"tenant":"tenants/default"}' %[1]s defender.v1.AuthService/StartDeviceLogin
  # open verification_uri in a browser and approve, or:
  curl -sk -d 'user_code=USER_CODE&upn=alice@contoso.onmicrosoft.com&action=approve' VERIFICATION_URI
  grpcurl -plaintext -H 'x-defender-account: alice@contoso.onmicrosoft.com' -d '{"tenant":"tenants/default"}' %[1]s defender.v1.AuthService/WhoAmI
  curl -s -H 'x-defender-account: alice@contoso.onmicrosoft.com' 'http://%[2]s/v1/tenants/default/incidents?pageSize=3'

Callers are not authenticated in the sandbox (caller auth none); see docs/auth.md.
Stop with Ctrl-C.
`, g, h)
}

// dialable turns a listen address such as [::]:50051 into one a client
// can use.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
