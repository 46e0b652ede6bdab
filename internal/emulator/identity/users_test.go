package identity

import "testing"

func TestUsers(t *testing.T) {
	seen := map[string]bool{}
	for _, u := range Users() {
		if seen[u.ObjectID] || seen[u.UPN] {
			t.Errorf("duplicate user %+v", u)
		}
		seen[u.ObjectID], seen[u.UPN] = true, true
		got, ok := UserByUPN(u.UPN)
		if !ok || got.ObjectID != u.ObjectID {
			t.Errorf("UserByUPN(%s) = %+v, %v", u.UPN, got, ok)
		}
		if u.TenantID != HomeTenantID && u.TenantID != SecondTenantID {
			t.Errorf("%s in tenant %s", u.UPN, u.TenantID)
		}
	}
	if _, ok := UserByUPN("ALICE@contoso.onmicrosoft.com"); !ok {
		t.Error("UserByUPN is case-sensitive")
	}
	if _, ok := UserByUPN("mallory@contoso.onmicrosoft.com"); ok {
		t.Error("unknown user found")
	}
}

func TestIncidentScope(t *testing.T) {
	tests := []struct {
		scope IncidentScope
		id    int64
		want  bool
	}{
		{IncidentScope{}, 7, true},
		{IncidentScope{Modulus: 2, Remainders: []int64{0}}, 8, true},
		{IncidentScope{Modulus: 2, Remainders: []int64{0}}, 7, false},
		{IncidentScope{Modulus: 3, Remainders: []int64{1, 2}}, 9, false},
		{IncidentScope{Modulus: 3, Remainders: []int64{1, 2}}, 10, true},
	}
	for _, tt := range tests {
		if got := tt.scope.Sees(tt.id); got != tt.want {
			t.Errorf("%+v.Sees(%d) = %v, want %v", tt.scope, tt.id, got, tt.want)
		}
	}
}
