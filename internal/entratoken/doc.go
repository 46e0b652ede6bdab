// Package entratoken validates Entra ID access tokens issued for the
// gateway's own app registration: the user (and app) tokens callers present
// to the gateway.
//
// A Validator checks, each as its own Check: the token's shape (malformed),
// its RS256 signature against the authority's published keys (signature),
// its issuer (issuer), its audience (audience), its lifetime (expired,
// not_before) and its tenant (tenant). Keys are fetched through go-oidc's
// RemoteKeySet, which refetches the key set when a token does not verify
// with the keys it has, so Entra's key rollover needs no restart. Those
// refetches are at least 30 seconds apart (keyfetch.go): a stream of forged
// tokens costs the authority one request per 30 seconds, and a new key is
// seen within 30 seconds of its first token.
//
// Issuers: Entra issues v2.0 tokens with iss "<authority host>/<tid>/v2.0"
// and v1.0 tokens with iss "https://sts.windows.net/<tid>/". Which one an app
// gets depends on its manifest (accessTokenAcceptedVersion), not on the
// caller, so both are accepted; each must name the token's own tid. The v1
// form is the public cloud's; national clouds issue v1 tokens from other
// hosts, which are not accepted (configure v2 tokens there).
//
// Tenants are configured as GUIDs or verified domains. Domains are resolved
// to tenant ids through the authority's OpenID discovery document, whose
// issuer holds the GUID; results are cached for the life of the Validator, a
// failed resolution is retried after a short pause. The key set's URL is the
// jwks_uri of the first tenant's discovery document. New makes no request:
// discovery happens on the first Validate, so a gateway starts while Entra
// is unreachable and recovers when it is back.
//
// Failures are *Error (the token is at fault; AsDefenderError maps it to
// UNAUTHENTICATED with reason TOKEN_INVALID) or wrap ErrKeysUnavailable (the
// authority could not be reached; an availability problem). No error, and
// nothing logged, ever holds the token.
package entratoken
