package service

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// TestListIncidentsSubset: ListIncidents on tenants/- naming tenants lists
// just those, across pages; a later page naming others refuses the
// token; a tenant not served is PERMISSION_DENIED naming it; tenants on one
// tenant is INVALID_ARGUMENT.
func TestListIncidentsSubset(t *testing.T) {
	a := timedBackend([2]int{10, 0}, [2]int{9, 2})
	b := timedBackend([2]int{30, 1}, [2]int{31, 3})
	c := timedBackend([2]int{50, 0})
	svc := newFanoutService(t, fanoutResolver{backends: map[string]defender.Backend{tenantA: a, tenantB: b, tenantC: c}}, "default", tenantB, tenantC)
	ctx := context.Background()
	subset := []string{"tenants/" + tenantC, "default"}
	var names []string
	token := ""
	for range 5 {
		resp, err := svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/-", PageSize: 2, PageToken: token, Tenants: subset})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range resp.GetIncidents() {
			names = append(names, in.GetName())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
		_, err = svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/-", PageSize: 2, PageToken: token, Tenants: []string{"default"}})
		wantFieldError(t, err, "page_token")
	}
	want := []string{"tenants/" + tenantA + "/incidents/10", "tenants/" + tenantC + "/incidents/50", "tenants/" + tenantA + "/incidents/9"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("listed %v, want %v", names, want)
	}
	if len(b.lists) != 0 {
		t.Errorf("a tenant outside the subset was read %d times", len(b.lists))
	}
	_, err := svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/-", Tenants: []string{"default", "tenants/eeeeeeee-0000-0000-0000-000000000000"}})
	st := wantCode(t, err, codes.PermissionDenied, defender.ReasonCallerTenantNotAllowed)
	if !strings.Contains(st.Message(), "tenants[1]") {
		t.Errorf("message %q does not name tenants[1]", st.Message())
	}
	_, err = svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default", Tenants: []string{"default"}})
	wantFieldError(t, err, "tenants")
}
