// Package authctx is the registry of auth contexts: the identities through
// which the gateway calls Defender, and which tenants each serves. Resolve
// turns the {tenant} segment of a resource name into the Backend to call.
//
// Each context kind is a resolver; the registry asks them in order and
// refuses a tenant none of them serves (TENANT_NOT_ALLOWED, before any token
// or upstream request):
//
//   - the application context ("contexts/app"): client credentials for the
//     configured home tenant, reached as "default" or as that tenant's GUID
//     or domain; asked first;
//   - the partner context ("contexts/partner/tenants/{tenant}"): the same
//     multi-tenant app registration, with client credentials in each
//     allow-listed customer tenant, named as configured (case-insensitive).
//     Each tenant's token source (its own MSAL cache) and backend are built
//     on first use. A tenant without admin consent fails with
//     CONSENT_REQUIRED carrying its admin-consent URL.
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
