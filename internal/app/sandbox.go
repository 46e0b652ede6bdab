package app

import (
	"log/slog"
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

// sandboxEmulatorOptions are the emulator's options for cfg: with
// DEFENDER_SANDBOX_EMULATOR_LIMITS=documented it enforces the documented
// upstream rate limits per tenant.
func sandboxEmulatorOptions(cfg *config.Config, logger *slog.Logger) emulator.Options {
	opts := emulator.Options{Logger: logger}
	if cfg.SandboxEmulatorLimits == config.SandboxLimitsDocumented {
		limits := emulator.DocumentedLimits()
		opts.Limits = &limits
	}
	return opts
}

// sandboxEmulatorPath is where the sandbox mounts the emulator's control
// API (faults and stats) on the HTTP listener.
const sandboxEmulatorPath = "/sandbox/emulator/"

// sandboxConsentRedirectURI is the loopback redirect URI of the sandbox's
// admin-consent URLs; nothing needs to listen there.
const sandboxConsentRedirectURI = "http://localhost/consent-callback"

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
