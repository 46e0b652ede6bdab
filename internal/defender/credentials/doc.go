// Package credentials holds the gateway's token sources: MSAL Go clients
// that obtain bearer tokens for the upstream Defender APIs from Entra ID.
//
// Three kinds of source:
//
//   - App, the application (client credentials) context: a confidential
//     client authenticating with a client secret or a certificate, for one
//     tenant and one scope. Every App owns its own MSAL client and token
//     cache; the partner context builds one per allow-listed tenant.
//   - OnBehalfOf, the user context with a presented user token: the same
//     confidential client, exchanging the token of the call's caller
//     (caller.FromContext) with AcquireTokenOnBehalfOf, one per tenant.
//   - DeviceLogins, the user context of device-code sign-ins: MSAL public
//     clients, one per tenant, that sign users in, renew their tokens
//     silently and may persist their cache encrypted (usercache.go).
//
// They share the acquisition (sharedAcquirer), the authority rules
// (authorityURL) and the error mapping (errors.go).
//
// Every failure is a *defender.Error. Its Message is safe for callers; its
// Cause is for logs and never holds the request (and thus never the secret or
// the client assertion) or a token.
package credentials
