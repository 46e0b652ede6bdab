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
	GraphAlertRead         = "SecurityAlert.Read.All"
	GraphAlertReadWrite    = "SecurityAlert.ReadWrite.All"
	XDRIncidentRead        = "Incident.Read.All"
	XDRIncidentReadWrite   = "Incident.ReadWrite.All"
	XDRHunting             = "AdvancedHunting.Read.All"
)

// Delegated permissions (token `scp`) of the Defender XDR API. Graph's
// delegated permissions share their names with the application ones
// (GraphIncidentRead, GraphIncidentReadWrite, GraphHunting, GraphAlertRead,
// GraphAlertReadWrite).
const (
	XDRDelegatedIncidentRead      = "Incident.Read"
	XDRDelegatedIncidentReadWrite = "Incident.ReadWrite"
	XDRDelegatedHunting           = "AdvancedHunting.Read"
)

// The gateway's own API registration is the sandbox app (ClientID): tokens
// for the gateway carry aud = ClientID. It exposes the delegated scope
// GatewayScope to users (via CLIClientID) and the app role GatewayRole to
// daemons (CallerClientID).
const (
	// GatewayResource is the app ID URI of the gateway API, the resource in
	// "api://<ClientID>/.default".
	GatewayResource = "api://" + ClientID
	// GatewayScope is the delegated scope user tokens for the gateway carry.
	GatewayScope = "access_as_user"
	// GatewayRole is the app role daemon tokens for the gateway carry.
	GatewayRole = "Gateway.Call"
)

// A daemon app that calls the gateway with an app token: client credentials
// for GatewayResource give roles [GatewayRole]. Consented in the home tenant.
const (
	CallerClientID     = "5d6c7b8a-9f0e-4d1c-8b2a-3c4d5e6f7a8b"
	CallerClientSecret = "sandbox-caller-secret-not-a-real-secret"
)

// CLIClientID is a public client (no secret, device code allowed) standing
// for the gateway's command-line tool: the `azp` of user tokens presented to
// the gateway, with the delegated scope GatewayScope.
const CLIClientID = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b"
