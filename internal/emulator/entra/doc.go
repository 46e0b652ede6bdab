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
//	POST /{tenant}/oauth2/v2.0/devicecode
//	GET  /devicelogin, POST /devicelogin   (the device code sign-in page)
//
// {tenant} is a tenant ID or one of its registered domains. Errors use
// Entra's JSON shape, with the AADSTS code real Entra ID returns.
//
// The token endpoint dispatches on grant_type (see [Server.handleToken]):
// client credentials (app tokens), on-behalf-of, device code and
// refresh_token (user tokens for the sandbox users of package identity).
// Tokens for Graph and XDR are v1.0; tokens for an API registered in the
// directory (the gateway, api://<client id>) are v2.0, as are ID tokens and
// the tokens [Server.UserToken] makes for tests. Consent is tracked per app
// and tenant in the [Registry].
package entra
