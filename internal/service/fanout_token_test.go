package service

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// TestFanoutTokenRoundTrip: the token carries every tenant's position and
// failure; it is refused for another caller, filter or view, once altered,
// and across the two kinds of listing.
func TestFanoutTokenRoundTrip(t *testing.T) {
	svc := newFanoutService(t, fanoutResolver{})
	ctx := caller.NewContext(context.Background(), &caller.Request{Identity: caller.Identity{Name: "api-key:bot"}})
	fp := fanoutFingerprintOf(ctx, defender.IncidentFilter{AssignedTo: "x"}, false)
	states := []fanoutTenantState{
		{Tenant: tenantA, Bind: "b1", tenantPosition: tenantPosition{Cursor: `{"url":"https://graph.example/v1.0/security/incidents?$top=50&$skiptoken=abc"}`, Skip: 7}},
		{Tenant: tenantB, Failure: &fanoutFailure{Code: int32(codes.FailedPrecondition), Reason: "CONSENT_REQUIRED", Message: "no consent"}},
	}
	token, err := svc.tokens.issueFanout(states, fp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.tokens.openFanout(token, fp)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got[0], *got[1].Failure) != fmt.Sprint(states[0], *states[1].Failure) {
		t.Errorf("round trip %+v, want %+v", got, states)
	}
	other := caller.NewContext(context.Background(), &caller.Request{Identity: caller.Identity{Name: "api-key:other"}})
	single, err := svc.tokens.issue("5", listFingerprint{Tenant: tenantA})
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		token string
		fp    fanoutFingerprint
	}{
		"another caller": {token, fanoutFingerprintOf(other, defender.IncidentFilter{AssignedTo: "x"}, false)},
		"another filter": {token, fanoutFingerprintOf(ctx, defender.IncidentFilter{AssignedTo: "y"}, false)},
		"another view":   {token, fanoutFingerprintOf(ctx, defender.IncidentFilter{AssignedTo: "x"}, true)},
		"altered":        {token[:len(token)-2] + "AA", fp},
		"one tenant's":   {single, fp},
	} {
		if _, err := svc.tokens.openFanout(tt.token, tt.fp); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: openFanout = %v, want INVALID_ARGUMENT", name, err)
		}
	}
	// A fan-out token does not continue a listing of one tenant.
	if tok, err := svc.tokens.open(token); err == nil {
		t.Errorf("open(fan-out token) = %+v, want refused", tok)
	}
}

// TestFanoutTokenSize: many tenants' similar cursors compress into one
// token; too many are a clear error, not a broken token.
func TestFanoutTokenSize(t *testing.T) {
	svc := newFanoutService(t, fanoutResolver{})
	fp := fanoutFingerprintOf(context.Background(), defender.IncidentFilter{}, false)
	states := func(n int) []fanoutTenantState {
		var out []fanoutTenantState
		for i := range n {
			out = append(out, fanoutTenantState{Tenant: fmt.Sprintf("%08d-0000-0000-0000-000000000000", i), Bind: "abcdefghijkl",
				tenantPosition: tenantPosition{Cursor: fmt.Sprintf(`{"url":"https://graph.microsoft.com/v1.0/security/incidents?$filter=status%%20eq%%20'active'&$top=50&$skiptoken=%d"}`, i*7919), Skip: i % 50}})
		}
		return out
	}
	if _, err := svc.tokens.issueFanout(states(50), fp); err != nil {
		t.Errorf("50 tenants: %v", err)
	}
	if _, err := svc.tokens.issueFanout(states(2000), fp); status.Code(ToStatus(err).Err()) != codes.ResourceExhausted {
		t.Errorf("2000 tenants: %v, want RESOURCE_EXHAUSTED", err)
	}
}
