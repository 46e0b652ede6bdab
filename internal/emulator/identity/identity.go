// Package identity holds the emulator's well-known tenants, app
// registrations, API resources and permissions. They are fakes: the values are
// public so that tests and the sandbox can sign in without configuration.
package identity

// Tenants of the emulator. The home and second tenants have their own sample
// data; the third has none: no app is consented there, so it stands for a
// customer tenant whose administrator has not granted consent yet.
const (
	HomeTenantID       = "e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f42"
	HomeTenantDomain   = "contoso.onmicrosoft.com"
	SecondTenantID     = "7c9d1e3f-2a4b-4c5d-8e6f-0a1b2c3d4e5f"
	SecondTenantDomain = "fabrikam.onmicrosoft.com"
	ThirdTenantID      = "4b8e2c6a-9d1f-4e3b-a5c7-2f6d8e0b1a93"
	ThirdTenantDomain  = "northwind.onmicrosoft.com"
)

// The sandbox app registration, multi-tenant: full read/write and hunting
// permissions, consented in the home and second tenants (not the third).
const (
	ClientID     = "3f2e1d0c-b9a8-4766-8554-433221100fed"
	ClientSecret = "sandbox-client-secret-not-a-real-secret"
)

// A read-only app registration in the home tenant: it may read incidents but
// not update them or run hunting queries (for 403 tests).
const (
	ReadOnlyClientID     = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	ReadOnlyClientSecret = "sandbox-read-only-secret-not-a-real-secret"
)

// API resources (token audiences) the emulator serves.
const (
	GraphResource  = "https://graph.microsoft.com"
	XDRResource    = "https://api.security.microsoft.com"
	XDRResourceAlt = "https://security.microsoft.com/mtp"
)

// Application permissions (token `roles`).
const (
	GraphIncidentRead      = "SecurityIncident.Read.All"
	GraphIncidentReadWrite = "SecurityIncident.ReadWrite.All"
	GraphHunting           = "ThreatHunting.Read.All"
	XDRIncidentRead        = "Incident.Read.All"
	XDRIncidentReadWrite   = "Incident.ReadWrite.All"
	XDRHunting             = "AdvancedHunting.Read.All"
)
