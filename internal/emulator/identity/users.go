package identity

import "strings"

// Sandbox users. Their rights and incident scopes stand for the Defender
// portal (RBAC) permissions that bound delegated calls (reference §3.1): a
// delegated token's `scp` says what the app may do for the user, the user's
// rights say what the user may do at all.
const (
	AliceUPN      = "alice@" + HomeTenantDomain
	AliceObjectID = "a11ce000-0000-4000-8000-00000000a11c"
	AliceName     = "Alice Analyst"

	BobUPN      = "bob@" + HomeTenantDomain
	BobObjectID = "b0b00000-0000-4000-8000-000000000b0b"
	BobName     = "Bob Reader"

	CarolUPN      = "carol@" + SecondTenantDomain
	CarolObjectID = "ca201000-0000-4000-8000-0000000ca201"
	CarolName     = "Carol Responder"
)

// User is a sandbox user account.
type User struct {
	UPN         string
	ObjectID    string
	DisplayName string
	TenantID    string
	// CanUpdate allows updating and commenting incidents; CanHunt allows
	// advanced hunting. Reading incidents is always allowed.
	CanUpdate, CanHunt bool
	// IncidentScope picks the incidents the user sees; see Sees.
	IncidentScope IncidentScope
}

// IncidentScope selects a deterministic subset of a tenant's incidents by
// incident id: the user sees incident id when id % Modulus is one of
// Remainders. The zero value sees every incident.
type IncidentScope struct {
	Modulus    int64
	Remainders []int64
}

// Sees reports whether the user may see incident id of their tenant.
func (s IncidentScope) Sees(id int64) bool {
	if s.Modulus <= 0 {
		return true
	}
	r := id % s.Modulus
	for _, want := range s.Remainders {
		if r == want {
			return true
		}
	}
	return false
}

// Users returns the sandbox users:
//
//   - alice (home tenant): SOC analyst, reads and updates incidents and
//     hunts; sees the incidents whose id is even (about half of the 240).
//   - bob (home tenant): read-only; sees incidents whose id is a multiple of
//     3 (about a third). Update and hunting answer 403.
//   - carol (second tenant): reads, updates and hunts; sees the incidents
//     whose id is odd (about half of the 130).
func Users() []User {
	return []User{
		{UPN: AliceUPN, ObjectID: AliceObjectID, DisplayName: AliceName, TenantID: HomeTenantID,
			CanUpdate: true, CanHunt: true, IncidentScope: IncidentScope{Modulus: 2, Remainders: []int64{0}}},
		{UPN: BobUPN, ObjectID: BobObjectID, DisplayName: BobName, TenantID: HomeTenantID,
			IncidentScope: IncidentScope{Modulus: 3, Remainders: []int64{0}}},
		{UPN: CarolUPN, ObjectID: CarolObjectID, DisplayName: CarolName, TenantID: SecondTenantID,
			CanUpdate: true, CanHunt: true, IncidentScope: IncidentScope{Modulus: 2, Remainders: []int64{1}}},
	}
}

// UserByUPN finds a sandbox user by UPN, case-insensitively.
func UserByUPN(upn string) (User, bool) {
	for _, u := range Users() {
		if strings.EqualFold(u.UPN, upn) {
			return u, true
		}
	}
	return User{}, false
}
