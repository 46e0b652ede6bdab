// Package authctx is the registry of auth contexts: the identities through
// which the gateway calls Defender, and which tenants each serves. Resolve
// turns the {tenant} segment of a resource name into the Backend to call.
//
// Each context kind is a resolver; the registry asks them in order and
// refuses a tenant none of them serves (TENANT_NOT_ALLOWED, before any token
// or upstream request):
//
//   - the application context ("contexts/app"): client credentials for the
//     configured home tenant, also reached as "default";
//   - the partner context ("contexts/partner/tenants/{tenant id}"): the same
//     multi-tenant app registration, with client credentials in each
//     allow-listed customer tenant. Each tenant's token source (its own MSAL
//     cache) and backend are built on first use. A tenant without admin
//     consent fails with CONSENT_REQUIRED carrying its admin-consent URL.
//
// Tenants are configured by tenant id (GUID) or domain, and a request may
// name a served tenant by "default" (the home tenant), its id or any of its
// verified domains (tenants.go). Domains become ids through the authority's
// OpenID discovery document, whose issuer holds the id (tenantid.go):
// lazily, cached, one request per domain at a time, and rate-bounded for
// domains no tenant is configured as. Targets, contexts and every name
// built from them use the tenant id: the canonical form.
//
// When the call's caller.Request selects the user context (a presented
// user token, or a signed-in account named in x-defender-account), Resolve
// turns the tenant's target into the user context's: on-behalf-of
// ("contexts/user/on-behalf-of") in the user's own tenant, or the account
// ("contexts/user/accounts/{upn}"); one backend per tenant serves every
// user, its token source reading the user from each call.
//
// CheckContexts reports, per context, whether a token can currently be
// obtained, cached for a short TTL (on-behalf-of is not checked: its token
// depends on each caller). WhoAmI describes what a call would run as.
package authctx
