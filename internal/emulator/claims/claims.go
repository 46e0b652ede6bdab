// Package claims carries the verified claims of an emulator access token from
// the emulator's token check to the fake API handlers.
package claims

import "context"

// Claims are the verified claims of a bearer token the fake APIs accepted.
type Claims struct {
	// TenantID is the `tid` claim: the tenant whose data the call sees.
	TenantID string
	// AppID is the client id the token was issued to (`appid`/`azp`).
	AppID string
	// Audience is the `aud` claim, e.g. https://graph.microsoft.com.
	Audience string
	// Roles are application permissions (`roles`).
	Roles []string
	// Scopes are delegated permissions (`scp`, split on spaces).
	Scopes []string
	// Subject is the `sub` claim; ObjectID the `oid` of a user, if any.
	Subject, ObjectID string
	// UPN is the user's principal name for delegated tokens, "" for apps.
	UPN string
}

// Has reports whether the token grants permission p as a role or scope.
func (c Claims) Has(p string) bool {
	for _, r := range c.Roles {
		if r == p {
			return true
		}
	}
	for _, s := range c.Scopes {
		if s == p {
			return true
		}
	}
	return false
}

type key struct{}

// With returns ctx carrying c.
func With(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, key{}, c)
}

// From returns the claims in ctx, if any.
func From(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(key{}).(Claims)
	return c, ok
}
