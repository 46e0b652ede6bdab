package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// huntingRows prints a result's rows, each as its columns' values in
// order, for comparison.
func huntingRows(resp *defenderv1.RunQueryResponse, skipTenant bool) []string {
	var out []string
	for _, r := range resp.GetRows() {
		m := r.AsMap()
		var vals []string
		for _, c := range resp.GetColumns() {
			if skipTenant && c.GetName() == "GatewayTenant" {
				continue
			}
			vals = append(vals, c.GetName()+"="+strings.TrimSpace(strings.ReplaceAll(fmtValue(m[c.GetName()]), "\n", " ")))
		}
		out = append(out, strings.Join(vals, ","))
	}
	return out
}

func fmtValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "null"
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// TestRunQueryAcrossTenants: RunQuery on tenants/- returns each readable
// tenant's rows, as the tenant alone returns them, with the GatewayTenant
// column; northwind (no consent) is unreachable; a tenant over its hunting
// CPU quota is unreachable too; a KQL error every tenant reports fails the
// call as it would for one tenant.
func TestRunQueryAcrossTenants(t *testing.T) {
	forEachPartnerFresh(t, func(t *testing.T, g *gateway, c client) {
		ctx := context.Background()
		const kql = "AlertInfo | summarize count() by Severity"
		var want []string
		for _, tenant := range []string{identity.HomeTenantID, identity.SecondTenantID} {
			resp, err := c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: "tenants/" + tenant, Query: kql})
			mustOK(t, err)
			for _, row := range huntingRows(resp, false) {
				want = append(want, "tenants/"+tenant+" "+row)
			}
		}
		resp, err := c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: everyTenant, Query: kql})
		mustOK(t, err)
		if cols := resp.GetColumns(); len(cols) == 0 || cols[0].GetName() != "GatewayTenant" || cols[0].GetType() != "string" {
			t.Fatalf("columns %v, want GatewayTenant first", cols)
		}
		var got []string
		for i, row := range huntingRows(resp, true) {
			got = append(got, resp.GetRows()[i].AsMap()["GatewayTenant"].(string)+" "+row)
		}
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("rows across tenants\n got %v\nwant %v", got, want)
		}
		wantUnreachable(t, &defenderv1.ListIncidentsResponse{Unreachable: resp.GetUnreachable(), UnreachableDetails: resp.GetUnreachableDetails()},
			map[string][2]string{"tenants/" + identity.ThirdTenantID: {"FAILED_PRECONDITION", "CONSENT_REQUIRED"}})

		_, err = c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: everyTenant, Query: "AlertInfo | whre Severity == 'High'"})
		wantStatus(t, err, codes.InvalidArgument, "UPSTREAM_BAD_REQUEST")

		api := emulator.APIGraph
		if g.backend == "xdr" {
			api = emulator.APIXDR
		}
		g.emu.InjectFault(emulator.HuntingCPUQuota(api, identity.SecondTenantID))
		resp, err = c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: everyTenant, Query: kql})
		mustOK(t, err)
		wantUnreachable(t, &defenderv1.ListIncidentsResponse{Unreachable: resp.GetUnreachable(), UnreachableDetails: resp.GetUnreachableDetails()},
			map[string][2]string{
				"tenants/" + identity.SecondTenantID: {"RESOURCE_EXHAUSTED", "UPSTREAM_THROTTLED"},
				"tenants/" + identity.ThirdTenantID:  {"FAILED_PRECONDITION", "CONSENT_REQUIRED"},
			})
		for _, r := range resp.GetRows() {
			if tenant := r.AsMap()["GatewayTenant"]; tenant != "tenants/"+identity.HomeTenantID {
				t.Errorf("a row of %v while fabrikam is over its quota", tenant)
			}
		}
	})
}
