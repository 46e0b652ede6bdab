package authctx

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// WhoAmI is what a Defender call of the calling request would run as. It
// holds no token.
type WhoAmI struct {
	// Caller is the caller's identity name ("anonymous" without one);
	// CallerDisplay its display name (a user's UPN), or "".
	Caller, CallerDisplay string
	Context               Info
	Tenant                string
	// UpstreamIdentity is the user's UPN in the user context, the app's
	// client id otherwise, as the token says.
	UpstreamIdentity string
	Roles, Scopes    []string
	Expiry           time.Time
	// AllowedOperations are the policy's operations for this caller in
	// the tenant; nil when no policy applies.
	AllowedOperations []string
}

// WhoAmI resolves tenant as a call would and reads the claims of the
// context's token, which it acquires or takes from the cache.
func (r *Registry) WhoAmI(ctx context.Context, tenant string) (WhoAmI, error) {
	t, err := r.Resolve(ctx, tenant)
	if err != nil {
		return WhoAmI{}, err
	}
	if t.Tokens == nil {
		return WhoAmI{}, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "context %s has no token source", t.Context.Name)
	}
	raw, err := t.Tokens.Token(ctx)
	if err != nil {
		return WhoAmI{}, err
	}
	c, err := readTokenClaims(raw)
	if err != nil {
		return WhoAmI{}, &defender.Error{Kind: defender.KindInternal, Reason: defender.ReasonInternal, Message: "internal error",
			Cause: fmt.Errorf("context %s: read the token's claims: %w", t.Context.Name, err)}
	}
	w := WhoAmI{Caller: "anonymous", Context: t.Context, Tenant: t.Tenant, Roles: c.Roles, Scopes: strings.Fields(c.Scope), Expiry: c.expiry()}
	w.UpstreamIdentity = c.identity()
	if req := caller.FromContext(ctx); req != nil {
		w.Caller, w.CallerDisplay = req.Identity.Name, req.Identity.Display
		if req.AllowedOperations != nil {
			w.AllowedOperations = req.AllowedOperations(t.Tenant)
		}
	}
	return w, nil
}

// tokenClaims are the claims WhoAmI reports. The token comes from Entra ID
// through MSAL, so it is read without verifying its signature: it is not
// trusted for anything, only described.
type tokenClaims struct {
	jwt.RegisteredClaims
	Roles             []string `json:"roles"`
	Scope             string   `json:"scp"`
	UPN               string   `json:"upn"`
	PreferredUsername string   `json:"preferred_username"`
	AppID             string   `json:"appid"`
	AZP               string   `json:"azp"`
}

func readTokenClaims(raw string) (*tokenClaims, error) {
	var c tokenClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *tokenClaims) expiry() time.Time {
	if c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.Time
}

func (c *tokenClaims) identity() string {
	for _, v := range []string{c.UPN, c.PreferredUsername, c.AppID, c.AZP} {
		if v != "" {
			return v
		}
	}
	return ""
}
