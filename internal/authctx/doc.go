// Package authctx is the registry of auth contexts: the identities through
// which the gateway calls Defender, and which tenants each serves. Resolve
// turns the {tenant} segment of a resource name into the Backend to call.
//
// Today there is one context, the application context ("contexts/app"):
// client credentials for the configured home tenant, reached as "default"
// or as that tenant's GUID or domain. Each context kind is a resolver; the
// registry asks them in order and refuses a tenant none of them serves. A
// user context (on-behalf-of with the caller's token, or device-code
// accounts) and a partner context (allow-listed customer tenants, one token
// cache each) are further resolvers; a user resolver will read the caller's
// identity from the context passed to Resolve.
package authctx
