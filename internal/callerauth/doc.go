// Package callerauth authenticates the callers of the gateway: by client
// certificate (mtls), by API key (api-key), by Entra ID access token (jwt),
// or not at all (none, "anonymous"). In every mode a caller may also present
// a user token (authorization: Bearer) for on-behalf-of, and name a
// signed-in account (x-defender-account). The result is a *caller.Request.
//
// The package reads credentials from gRPC metadata and a certificate
// identity the transport vouches for; it knows nothing of listeners (see
// package server for how REST calls carry a verified certificate).
// Nothing it logs or returns holds a key or a token.
package callerauth
