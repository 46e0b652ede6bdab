// Package access decides what a caller of the fake Graph and XDR APIs may do
// and see. App tokens are judged by their `roles` alone. Delegated tokens
// (those with a `scp` claim) need the delegated permission in `scp` AND the
// signed-in user's own rights (identity.User), and see only the incidents
// in the user's scope, as Defender bounds delegated calls by the user's
// portal permissions (reference §3.1, §7.1).
package access

import (
	"slices"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// Right is what an operation needs from a signed-in user.
type Right int

// Rights of operations.
const (
	Read Right = iota
	Update
	Hunt
)

// Requirement is the permission an operation needs: any of App (as a role)
// for app tokens, any of Delegated (as a scope) for delegated tokens, and
// Right from the user.
type Requirement struct {
	App, Delegated []string
	Right          Right
}

// Decision is the outcome of Check.
type Decision int

// Decisions of Check.
const (
	// Allowed: the operation may run.
	Allowed Decision = iota
	// MissingPermission: the token lacks the role or scope.
	MissingPermission
	// UserDenied: the scope is there but the user lacks the right.
	UserDenied
)

// IsDelegated reports whether c is a delegated (user) token: one with scopes.
func IsDelegated(c claims.Claims) bool { return len(c.Scopes) > 0 }

// Check decides whether c may perform an operation requiring req.
func Check(c claims.Claims, req Requirement) Decision {
	if !IsDelegated(c) {
		if hasAny(c.Roles, req.App) {
			return Allowed
		}
		return MissingPermission
	}
	if !hasAny(c.Scopes, req.Delegated) {
		return MissingPermission
	}
	user, known := userOf(c)
	if !known {
		return Allowed
	}
	switch {
	case user.TenantID != c.TenantID,
		req.Right == Update && !user.CanUpdate,
		req.Right == Hunt && !user.CanHunt:
		return UserDenied
	}
	return Allowed
}

// Sees reports whether c may see incident id of its tenant: app tokens see
// all of them, delegated tokens of a sandbox user those in the user's
// IncidentScope. Delegated tokens naming a user outside the sandbox
// directory (possible only with hand-made claims) are not restricted.
func Sees(c claims.Claims, id int64) bool {
	if !IsDelegated(c) {
		return true
	}
	user, known := userOf(c)
	if !known {
		return true
	}
	return user.TenantID == c.TenantID && user.IncidentScope.Sees(id)
}

func userOf(c claims.Claims) (identity.User, bool) {
	if c.UPN == "" {
		return identity.User{}, false
	}
	return identity.UserByUPN(c.UPN)
}

func hasAny(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}
