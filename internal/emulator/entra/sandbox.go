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
	return []string{identity.GraphResource, identity.XDRResource, identity.XDRResourceAlt}
}

// SandboxApps returns the emulator's well-known app registrations: the
// sandbox app (secret and clientCert) with read/write and hunting
// permissions, consented in the home and second tenants (a multi-tenant app
// serving a partner's customer; the third tenant has not consented), and a
// read-only app consented in the home tenant only. clientCert may be nil.
func SandboxApps(clientCert *x509.Certificate) []App {
	var certs []*x509.Certificate
	if clientCert != nil {
		certs = []*x509.Certificate{clientCert}
	}
	xdrFull := []string{identity.XDRIncidentReadWrite, identity.XDRHunting}
	xdrRead := []string{identity.XDRIncidentRead}
	return []App{
		{
			ClientID:     identity.ClientID,
			Name:         "Defender Gateway Sandbox",
			Secret:       identity.ClientSecret,
			Certificates: certs,
			Roles: map[string][]string{
				identity.GraphResource:  {identity.GraphIncidentReadWrite, identity.GraphHunting},
				identity.XDRResource:    xdrFull,
				identity.XDRResourceAlt: xdrFull,
			},
			ConsentedTenants: []string{identity.HomeTenantID, identity.SecondTenantID},
		},
		{
			ClientID: identity.ReadOnlyClientID,
			Name:     "Defender Gateway Sandbox (read-only)",
			Secret:   identity.ReadOnlyClientSecret,
			Roles: map[string][]string{
				identity.GraphResource:  {identity.GraphIncidentRead},
				identity.XDRResource:    xdrRead,
				identity.XDRResourceAlt: xdrRead,
			},
			ConsentedTenants: []string{identity.HomeTenantID},
		},
	}
}
