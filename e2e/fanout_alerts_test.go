package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// listedAlert is one alert of a listing, as the merge orders it.
type listedAlert struct {
	name   string
	tenant string
	id     string
	create time.Time
}

func listedAlertOf(a *defenderv1.Alert) listedAlert {
	tenant := strings.TrimPrefix(strings.Split(a.GetName(), "/alerts/")[0], "tenants/")
	return listedAlert{name: a.GetName(), tenant: tenant, id: a.GetId(), create: a.GetCreateTime().AsTime()}
}

// alertMergedBefore is the documented order of ListAlerts on tenants/-:
// creation time descending, then tenant id, then alert id descending as
// strings.
func alertMergedBefore(a, b listedAlert) int {
	if c := b.create.Compare(a.create); c != 0 {
		return c
	}
	if c := strings.Compare(a.tenant, b.tenant); c != 0 {
		return c
	}
	return strings.Compare(b.id, a.id)
}

// listAlertsAcross pages through ListAlerts on tenants/- with req's
// filter, checking each page's unreachable tenants (tenant → {code,
// reason}) and that every alert and its incident are under one tenant.
func listAlertsAcross(t *testing.T, ctx context.Context, c client, req *defenderv1.ListAlertsRequest, unreachable map[string][2]string) []listedAlert {
	t.Helper()
	req = protoClone(req)
	req.Parent = everyTenant
	var out []listedAlert
	for page := 0; ; page++ {
		if page > 200 {
			t.Fatal("more than 200 pages: the listing does not end")
		}
		resp, err := c.ListAlerts(ctx, req)
		mustOK(t, err)
		if len(resp.GetAlerts()) > int(req.GetPageSize()) {
			t.Fatalf("a merged page of %d alerts, page size %d", len(resp.GetAlerts()), req.GetPageSize())
		}
		wantUnreachable(t, &defenderv1.ListIncidentsResponse{Unreachable: resp.GetUnreachable(), UnreachableDetails: resp.GetUnreachableDetails()}, unreachable)
		for _, a := range resp.GetAlerts() {
			l := listedAlertOf(a)
			if !strings.HasPrefix(a.GetIncident(), "tenants/"+l.tenant+"/incidents/") {
				t.Errorf("alert %s of incident %s: not under one tenant", a.GetName(), a.GetIncident())
			}
			out = append(out, l)
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return out
		}
	}
}

// tenantAlerts lists one tenant's alerts to the end.
func tenantAlerts(t *testing.T, c client, tenant string) []listedAlert {
	t.Helper()
	var out []listedAlert
	for _, a := range listAllAlerts(t, c, &defenderv1.ListAlertsRequest{Parent: "tenants/" + tenant}, 500) {
		out = append(out, listedAlertOf(a))
	}
	return out
}

func alertNamesOf(ls []listedAlert) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.name
	}
	return out
}

// TestListAlertsAcrossTenants: ListAlerts on tenants/- over the home
// tenant, fabrikam (consented) and northwind (no consent) is the two
// readable tenants' alerts merged in the documented order, each under its
// real tenant, across pages, with northwind unreachable on every page; the
// tenants subset lists only those named; the incident filter is refused.
func TestListAlertsAcrossTenants(t *testing.T) {
	emu := startEmulator(t)
	g := startGateway(t, emu, partnerConfig(t, emu, "graph",
		"--partner-tenants", identity.SecondTenantID+"=Fabrikam,"+identity.ThirdTenantDomain+"=Northwind"))
	noConsent := map[string][2]string{"tenants/" + identity.ThirdTenantID: {code.Code_FAILED_PRECONDITION.String(), "CONSENT_REQUIRED"}}
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			ctx := context.Background()
			homeAlerts := tenantAlerts(t, c, identity.HomeTenantID)
			fabrikamAlerts := tenantAlerts(t, c, identity.SecondTenantID)
			if len(homeAlerts) == 0 || len(fabrikamAlerts) == 0 {
				t.Fatal("a tenant has no alerts")
			}
			want := slices.Concat(homeAlerts, fabrikamAlerts)
			slices.SortStableFunc(want, alertMergedBefore)
			got := listAlertsAcross(t, ctx, c, &defenderv1.ListAlertsRequest{PageSize: 37}, noConsent)
			if !slices.Equal(alertNamesOf(got), alertNamesOf(want)) {
				t.Fatalf("merged %d alerts, want the %d of home and fabrikam in order; first difference at %d", len(got), len(want), firstDiff(alertNamesOf(got), alertNamesOf(want)))
			}

			sub := listAlertsAcross(t, ctx, c, &defenderv1.ListAlertsRequest{PageSize: 50, Tenants: []string{identity.SecondTenantID}}, nil)
			if !slices.Equal(alertNamesOf(sub), alertNamesOf(fabrikamAlerts)) {
				t.Errorf("tenants [fabrikam]: %d alerts, want fabrikam's %d in its order", len(sub), len(fabrikamAlerts))
			}

			_, err := c.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: everyTenant, Incident: "tenants/" + identity.HomeTenantID + "/incidents/1"})
			wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "incident")
			_, err = c.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: home, Tenants: []string{identity.SecondTenantID}})
			wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "tenants")
		})
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestListAlertsAcrossTenantsXDRTenant: a partner tenant on the XDR
// backend (no alerts_v2) is unreachable with UNSUPPORTED_BY_BACKEND, as is
// northwind without consent, and the call answers with the home tenant's
// alerts.
func TestListAlertsAcrossTenantsXDRTenant(t *testing.T) {
	emu := startEmulator(t)
	file := writeFile(t, "partners.yaml", `
- tenant: `+identity.SecondTenantID+`
  backend: xdr
  api_url: `+emu.XDRURL()+`
  scope: `+identity.XDRResource+`/.default
- tenant: `+identity.ThirdTenantDomain+`
`)
	g := startGateway(t, emu, partnerConfig(t, emu, "graph", "--partner-tenants-file", file))
	unreachable := map[string][2]string{
		"tenants/" + identity.SecondTenantID: {code.Code_UNIMPLEMENTED.String(), "UNSUPPORTED_BY_BACKEND"},
		"tenants/" + identity.ThirdTenantID:  {code.Code_FAILED_PRECONDITION.String(), "CONSENT_REQUIRED"},
	}
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			want := tenantAlerts(t, c, identity.HomeTenantID)
			got := listAlertsAcross(t, context.Background(), c, &defenderv1.ListAlertsRequest{PageSize: 100}, unreachable)
			if !slices.Equal(alertNamesOf(got), alertNamesOf(want)) {
				t.Errorf("merged %d alerts, want the home tenant's %d in order", len(got), len(want))
			}
		})
	}
}

// twoTenantsAlertPolicy allows soc-bot alerts in the home tenant and
// fabrikam (not northwind, which is on the partner allow-list too), and
// analyst-tool in the home tenant alone.
const twoTenantsAlertPolicy = `
callers:
  - identity: api-key:soc-bot
    tenants: [default, ` + identity.SecondTenantID + `]
    operations: [alerts.read]
  - identity: api-key:analyst-tool
    tenants: [default]
    operations: [alerts.read]
`

// TestListAlertsAcrossTenantsPolicy: a caller allowed two tenants lists
// exactly those two (northwind is not even tried), one allowed one tenant
// lists one, and the audit record lists the tenants touched.
func TestListAlertsAcrossTenantsPolicy(t *testing.T) {
	emu := startEmulator(t)
	auditFile := t.TempDir() + "/audit.jsonl"
	g := startGateway(t, emu, partnerConfig(t, emu, "graph",
		"--partner-tenants", identity.SecondTenantID+"=Fabrikam,"+identity.ThirdTenantDomain+"=Northwind",
		"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t),
		"--policy-file", writeFile(t, "policy.yaml", twoTenantsAlertPolicy), "--audit-log-file", auditFile))
	tests := []struct {
		key  string
		want []string
	}{
		{socKey, []string{identity.HomeTenantID, identity.SecondTenantID}},
		{analystKey, []string{identity.HomeTenantID}},
	}
	for _, c := range g.clients(t) {
		for _, tt := range tests {
			t.Run(c.name()+"/"+tt.key[:4], func(t *testing.T) {
				ctx := withHeaders(context.Background(), "x-api-key", tt.key)
				seen := map[string]int{}
				for _, l := range listAlertsAcross(t, ctx, c, &defenderv1.ListAlertsRequest{PageSize: 200}, nil) {
					seen[l.tenant]++
				}
				var tenants []string
				for tenant := range seen {
					tenants = append(tenants, tenant)
				}
				slices.Sort(tenants)
				want := slices.Clone(tt.want)
				slices.Sort(want)
				if !slices.Equal(tenants, want) {
					t.Errorf("tenants listed %v, want exactly %v", tenants, want)
				}
			})
		}
	}
	records := 0
	for _, rec := range auditRecords(t, auditFile) {
		if rec["resource"] != everyTenant {
			continue
		}
		records++
		touched, _ := rec["tenants"].([]any)
		var names []string
		for _, v := range touched {
			s, _ := v.(string)
			names = append(names, s)
		}
		slices.Sort(names)
		want := []string{identity.HomeTenantID}
		if rec["caller"] == "api-key:soc-bot" {
			want = []string{identity.HomeTenantID, identity.SecondTenantID}
			slices.Sort(want)
		}
		if !slices.Equal(names, want) || rec["tenant"] != "-" || rec["code"] != "OK" {
			t.Errorf("audit record of %v: tenants %v tenant %v code %v, want %v, - and OK", rec["caller"], names, rec["tenant"], rec["code"], want)
		}
	}
	if records == 0 {
		t.Error("no audit record of a call on tenants/-")
	}
}
