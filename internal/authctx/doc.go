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
// CheckContexts reports, per context, whether a token can currently be
// obtained, cached for a short TTL. A user context (on-behalf-of, device
// code) is a further resolver that will read the caller from the context
// passed to Resolve.
package authctx
