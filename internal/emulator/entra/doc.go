// Package entra is a fake Microsoft Entra ID authority for the emulator: it
// serves OpenID Connect discovery, a JWKS and the v2.0 token endpoint for the
// client-credentials grant, and issues RS256 access tokens that the emulated
// Graph and Defender XDR APIs accept.
//
// It speaks the wire protocol MSAL Go uses with instance discovery disabled:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	GET  /{tenant}/discovery/v2.0/keys
//	POST /{tenant}/oauth2/v2.0/token
//
// {tenant} is a tenant ID or one of its registered domains. Errors use
// Entra's JSON shape, with the AADSTS code real Entra ID returns.
//
// Only the client-credentials grant is implemented. The token endpoint
// dispatches on grant_type (see [Server.handleToken]) so that further grants
// (on-behalf-of, device code) slot in as new cases; consent is tracked per app
// and tenant in the [Registry] so that partner (multi-tenant) consent can be
// granted at run time later.
package entra
