package callerauth

import (
	"slices"
	"strings"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/entratoken"
)

// A token for the gateway's audience proves who the caller is, not that it
// may call the gateway: Entra ID issues one to any app in the tenant that
// asks, and to any user signing in to any client. So jwt mode requires the
// app role the gateway's registration grants to daemons (roles claim), and
// every user token, in jwt mode or presented for on-behalf-of, requires the
// delegated scope the gateway exposes (scp claim). Lacking it is not a bad
// credential but a missing permission: PERMISSION_DENIED.

// requireAppRole checks that an app token carries the required app role.
// Entra ID compares role values exactly, and so does this.
func (a *Authenticator) requireAppRole(c *entratoken.Claims) error {
	if slices.Contains(c.Roles, a.appRole) {
		return nil
	}
	e := defender.Errorf(defender.KindPermissionDenied, defender.ReasonCallerRoleMissing,
		"the app token does not carry the app role %q (roles claim): assign that role of the gateway's app registration to the calling app", a.appRole)
	e.Metadata = map[string]string{"required_role": a.appRole}
	return e
}

// requireUserScope checks that a user token carries the required delegated
// scope and names its user by tenant and object id.
func (a *Authenticator) requireUserScope(c *entratoken.Claims) error {
	if c.ObjectID == "" {
		return tokenInvalid("malformed", "a user token must carry an oid claim")
	}
	if slices.Contains(c.Scopes, a.userScope) {
		return nil
	}
	e := defender.Errorf(defender.KindPermissionDenied, defender.ReasonCallerScopeMissing,
		"the user token does not carry the delegated scope %q (scp claim): request {gateway app ID URI}/%s for it", a.userScope, a.userScope)
	e.Metadata = map[string]string{"required_scope": a.userScope}
	return e
}

// userIdentity names a user caller user:{tenant id}/{object id}, in lower
// case: the pair Entra ID guarantees immutable and never reused. The UPN
// (preferred_username or upn), which an administrator can change or give to
// another person, is only the display name.
func userIdentity(c *entratoken.Claims) caller.Identity {
	return caller.Identity{
		Kind:    caller.KindUser,
		Name:    "user:" + strings.ToLower(c.Tenant+"/"+c.ObjectID),
		Display: c.UPN,
	}
}
