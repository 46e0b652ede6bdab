package entra

import (
	"crypto/x509"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// SandboxTenants returns the emulator's well-known tenants.
func SandboxTenants() []Tenant {
	return []Tenant{
		{ID: identity.HomeTenantID, Domains: []string{identity.HomeTenantDomain}},
		{ID: identity.SecondTenantID, Domains: []string{identity.SecondTenantDomain}},
		{ID: identity.ThirdTenantID, Domains: []string{identity.ThirdTenantDomain}},
	}
}

// SandboxResources returns the API resources the emulator issues tokens for.
func SandboxResources() []string {
	return []string{identity.GraphResource, identity.XDRResource, identity.XDRResourceAlt, identity.GatewayResource}
}

// SandboxApps returns the emulator's well-known app registrations: the
// sandbox app (secret and clientCert) with read/write (incidents and
// alerts) and hunting permissions, consented in the home and second
// tenants (a multi-tenant app serving a partner's customer; the third
// tenant has not consented), and a read-only app (incidents and alerts)
// consented in the home tenant only. clientCert may be nil.
//
// The sandbox app is also the gateway's own API (app ID URI
// identity.GatewayResource, scope access_as_user, role Gateway.Call), allows
// public client flows and holds delegated consent for Graph and XDR. The
// caller app may get app tokens for the gateway API; the CLI app is a public
// client that signs users in for the gateway API.
func SandboxApps(clientCert *x509.Certificate) []App {
	var certs []*x509.Certificate
	if clientCert != nil {
		certs = []*x509.Certificate{clientCert}
	}
	xdrFull := []string{identity.XDRIncidentReadWrite, identity.XDRHunting}
	xdrRead := []string{identity.XDRIncidentRead}
	xdrDelegated := []string{identity.XDRDelegatedIncidentReadWrite, identity.XDRDelegatedHunting}
	return []App{
		{
			ClientID:     identity.ClientID,
			Name:         "Defender Gateway Sandbox",
			Secret:       identity.ClientSecret,
			Certificates: certs,
			Roles: map[string][]string{
				identity.GraphResource:  {identity.GraphIncidentReadWrite, identity.GraphHunting, identity.GraphAlertReadWrite},
				identity.XDRResource:    xdrFull,
				identity.XDRResourceAlt: xdrFull,
			},
			ConsentedTenants: []string{identity.HomeTenantID, identity.SecondTenantID},
			Delegated: map[string][]string{
				identity.GraphResource:  {identity.GraphIncidentReadWrite, identity.GraphHunting, identity.GraphAlertReadWrite},
				identity.XDRResource:    xdrDelegated,
				identity.XDRResourceAlt: xdrDelegated,
			},
			PublicClient:   true,
			IdentifierURIs: []string{identity.GatewayResource},
		},
		{
			ClientID: identity.ReadOnlyClientID,
			Name:     "Defender Gateway Sandbox (read-only)",
			Secret:   identity.ReadOnlyClientSecret,
			Roles: map[string][]string{
				identity.GraphResource:  {identity.GraphIncidentRead, identity.GraphAlertRead},
				identity.XDRResource:    xdrRead,
				identity.XDRResourceAlt: xdrRead,
			},
			ConsentedTenants: []string{identity.HomeTenantID},
		},
		{
			ClientID:         identity.CallerClientID,
			Name:             "Defender Gateway Caller (daemon)",
			Secret:           identity.CallerClientSecret,
			Roles:            map[string][]string{identity.GatewayResource: {identity.GatewayRole}},
			ConsentedTenants: []string{identity.HomeTenantID},
		},
		{
			ClientID:         identity.CLIClientID,
			Name:             "Defender Gateway CLI",
			PublicClient:     true,
			Delegated:        map[string][]string{identity.GatewayResource: {identity.GatewayScope}},
			ConsentedTenants: []string{identity.HomeTenantID, identity.SecondTenantID},
		},
	}
}
