// Package credentials holds the gateway's token sources: MSAL Go clients
// that obtain bearer tokens for the upstream Defender APIs from Entra ID.
//
// Today there is one, App, the application (client credentials) context: a
// confidential client authenticating with a client secret or a certificate,
// for one tenant and one scope. Every App owns its own MSAL client and
// therefore its own token cache, so a partner context will build one App per
// allow-listed customer tenant. On-behalf-of and device-code sources will be
// further types next to App that reuse its building blocks: the shared
// acquisition (sharedAcquirer), the authority rules (authorityURL) and the
// error mapping (tokenError).
//
// Every failure is a *defender.Error. Its Message is safe for callers; its
// Cause is for logs and never holds the request (and thus never the secret or
// the client assertion) or a token.
package credentials
