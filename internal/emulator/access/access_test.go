package access

import (
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestCheck(t *testing.T) {
	read := Requirement{App: []string{"R.All", "RW.All"}, Delegated: []string{"R", "RW"}, Right: Read}
	update := Requirement{App: []string{"RW.All"}, Delegated: []string{"RW"}, Right: Update}
	hunt := Requirement{App: []string{"H.All"}, Delegated: []string{"H"}, Right: Hunt}
	app := func(roles ...string) claims.Claims {
		return claims.Claims{TenantID: identity.HomeTenantID, Roles: roles}
	}
	user := func(upn, tenant string, scopes ...string) claims.Claims {
		return claims.Claims{TenantID: tenant, UPN: upn, Scopes: scopes}
	}
	tests := []struct {
		name string
		c    claims.Claims
		req  Requirement
		want Decision
	}{
		{"app with role", app("R.All"), read, Allowed},
		{"app without role", app("H.All"), read, MissingPermission},
		{"app with the delegated name only", app("R"), read, MissingPermission},
		{"user with scope", user(identity.AliceUPN, identity.HomeTenantID, "RW", "H"), update, Allowed},
		{"user with the app role name only", user(identity.AliceUPN, identity.HomeTenantID, "RW.All"), update, MissingPermission},
		{"alice hunts", user(identity.AliceUPN, identity.HomeTenantID, "H"), hunt, Allowed},
		{"bob reads", user(identity.BobUPN, identity.HomeTenantID, "R"), read, Allowed},
		{"bob updates", user(identity.BobUPN, identity.HomeTenantID, "RW"), update, UserDenied},
		{"bob hunts", user(identity.BobUPN, identity.HomeTenantID, "H"), hunt, UserDenied},
		{"carol in the wrong tenant", user(identity.CarolUPN, identity.HomeTenantID, "R"), read, UserDenied},
		{"user outside the directory", user("someone@example.com", identity.HomeTenantID, "RW"), update, Allowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Check(tt.c, tt.req); got != tt.want {
				t.Errorf("Check = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSees(t *testing.T) {
	tests := []struct {
		name string
		c    claims.Claims
		id   int64
		want bool
	}{
		{"app sees all", claims.Claims{TenantID: identity.HomeTenantID, Roles: []string{"x"}}, 1001, true},
		{"alice sees even", claims.Claims{TenantID: identity.HomeTenantID, UPN: identity.AliceUPN, Scopes: []string{"x"}}, 1002, true},
		{"alice does not see odd", claims.Claims{TenantID: identity.HomeTenantID, UPN: identity.AliceUPN, Scopes: []string{"x"}}, 1001, false},
		{"bob sees multiples of 3", claims.Claims{TenantID: identity.HomeTenantID, UPN: identity.BobUPN, Scopes: []string{"x"}}, 1002, true},
		{"bob does not see others", claims.Claims{TenantID: identity.HomeTenantID, UPN: identity.BobUPN, Scopes: []string{"x"}}, 1004, false},
		{"carol sees odd", claims.Claims{TenantID: identity.SecondTenantID, UPN: identity.CarolUPN, Scopes: []string{"x"}}, 5001, true},
		{"carol in another tenant sees nothing", claims.Claims{TenantID: identity.HomeTenantID, UPN: identity.CarolUPN, Scopes: []string{"x"}}, 1001, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sees(tt.c, tt.id); got != tt.want {
				t.Errorf("Sees = %v, want %v", got, tt.want)
			}
		})
	}
}
