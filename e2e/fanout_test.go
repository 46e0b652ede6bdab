package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

const everyTenant = "tenants/-"

// forEachPartnerFresh is forEachPartner with a fresh emulator and gateway
// for every transport too: a throttled tenant stays held by the gateway's
// quota scheduler for the Retry-After, which would leak into the next
// transport's case.
func forEachPartnerFresh(t *testing.T, fn func(t *testing.T, g *gateway, c client)) {
	t.Helper()
	for _, backend := range backends {
		for i, transport := range []string{"grpc", "rest"} {
			t.Run(backend+"/"+transport, func(t *testing.T) {
				emu := startEmulator(t)
				g := startGateway(t, emu, partnerConfig(t, emu, backend,
					"--partner-tenants", identity.SecondTenantID+"=Fabrikam,"+identity.ThirdTenantDomain+"=Northwind"))
				fn(t, g, g.clients(t)[i])
			})
		}
	}
}

// listed is one incident of a listing, as the merge orders it.
type listed struct {
	name   string
	tenant string
	id     string
	create time.Time
}

// mergedBefore is the documented order of tenants/-: creation time
// descending, then tenant id, then incident id descending (numerically).
func mergedBefore(a, b listed) int {
	if c := b.create.Compare(a.create); c != 0 {
		return c
	}
	if c := strings.Compare(a.tenant, b.tenant); c != 0 {
		return c
	}
	if len(a.id) != len(b.id) {
		return len(b.id) - len(a.id)
	}
	return strings.Compare(b.id, a.id)
}

func listedOf(in *defenderv1.Incident) listed {
	tenant := strings.TrimPrefix(strings.Split(in.GetName(), "/incidents/")[0], "tenants/")
	return listed{name: in.GetName(), tenant: tenant, id: in.GetId(), create: in.GetCreateTime().AsTime()}
}

// listTenant lists one tenant to its end.
func listTenant(t *testing.T, ctx context.Context, c client, parent string) []listed {
	t.Helper()
	var out []listed
	token := ""
	for {
		resp, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: parent, PageSize: 500, PageToken: token})
		mustOK(t, err)
		for _, in := range resp.GetIncidents() {
			out = append(out, listedOf(in))
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

// wantUnreachable checks a page's unreachable tenants and their details:
// tenant → {code, reason}.
func wantUnreachable(t *testing.T, resp *defenderv1.ListIncidentsResponse, want map[string][2]string) {
	t.Helper()
	if len(resp.GetUnreachable()) != len(want) || len(resp.GetUnreachableDetails()) != len(want) {
		t.Fatalf("unreachable %v (%v), want %v", resp.GetUnreachable(), resp.GetUnreachableDetails(), want)
	}
	for i, tenant := range resp.GetUnreachable() {
		d := resp.GetUnreachableDetails()[i]
		w, ok := want[tenant]
		if !ok || d.GetTenant() != tenant {
			t.Errorf("unreachable %s (details of %s), want %v", tenant, d.GetTenant(), want)
			continue
		}
		if d.GetCode().String() != w[0] || d.GetReason() != w[1] || d.GetMessage() == "" {
			t.Errorf("%s: %v %s %q, want %s %s and a message", tenant, d.GetCode(), d.GetReason(), d.GetMessage(), w[0], w[1])
		}
	}
}

// TestListAcrossTenants: ListIncidents on tenants/- over the home tenant,
// fabrikam (consented) and northwind (no consent) merges the two readable
// tenants in the documented order across pages, resumes with the token,
// names every incident under its real tenant, and reports northwind as
// unreachable; fabrikam throttled mid-way joins it, and the listing goes on
// with the home tenant alone.
func TestListAcrossTenants(t *testing.T) {
	forEachPartnerFresh(t, func(t *testing.T, g *gateway, c client) {
		ctx := context.Background()
		homeList := listTenant(t, ctx, c, "tenants/"+identity.HomeTenantID)
		fabrikamList := listTenant(t, ctx, c, "tenants/"+identity.SecondTenantID)
		want := slices.Concat(homeList, fabrikamList)
		slices.SortStableFunc(want, mergedBefore)
		if len(homeList) == 0 || len(fabrikamList) == 0 {
			t.Fatal("a tenant has no incidents")
		}
		northwind := "tenants/" + identity.ThirdTenantID
		fabrikam := "tenants/" + identity.SecondTenantID
		noConsent := [2]string{code.Code_FAILED_PRECONDITION.String(), "CONSENT_REQUIRED"}

		// The first pages, until both tenants have been seen.
		var got []listed
		token := ""
		const size = 40
		for pages := 0; pages < 3; pages++ {
			resp, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: everyTenant, PageSize: size, PageToken: token})
			mustOK(t, err)
			if len(resp.GetIncidents()) != size || resp.GetNextPageToken() == "" {
				t.Fatalf("page %d: %d incidents, token %q; want %d and a token", pages, len(resp.GetIncidents()), resp.GetNextPageToken(), size)
			}
			wantUnreachable(t, resp, map[string][2]string{northwind: noConsent})
			for _, in := range resp.GetIncidents() {
				got = append(got, listedOf(in))
			}
			token = resp.GetNextPageToken()
		}
		for i := range got {
			if got[i].name != want[i].name {
				t.Fatalf("merged incident %d is %s, want %s", i, got[i].name, want[i].name)
			}
		}
		tenantsSeen := map[string]bool{}
		for _, l := range got {
			tenantsSeen[l.tenant] = true
		}
		if !tenantsSeen[identity.HomeTenantID] || !tenantsSeen[identity.SecondTenantID] {
			t.Fatalf("the first %d merged incidents come from %v only; the test needs both tenants", len(got), tenantsSeen)
		}

		// fabrikam is throttled for an hour: beyond any retry, so it is
		// unreachable at once, from now on; home goes on in order.
		api := emulator.APIGraph
		if g.backend == "xdr" {
			api = emulator.APIXDR
		}
		g.emu.InjectFault(emulator.Throttle(api, identity.SecondTenantID, time.Hour))
		throttled := [2]string{code.Code_RESOURCE_EXHAUSTED.String(), "UPSTREAM_THROTTLED"}
		resp, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: everyTenant, PageSize: size, PageToken: token})
		mustOK(t, err)
		wantUnreachable(t, resp, map[string][2]string{northwind: noConsent, fabrikam: throttled})
		if d := resp.GetUnreachableDetails()[0]; d.GetTenant() == fabrikam && d.GetRetryDelay().AsDuration() < time.Minute {
			t.Errorf("fabrikam's retry delay %v, want about an hour", d.GetRetryDelay().AsDuration())
		}
		var rest []listed
		for {
			for _, in := range resp.GetIncidents() {
				rest = append(rest, listedOf(in))
			}
			if resp.GetNextPageToken() == "" {
				break
			}
			resp, err = c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: everyTenant, PageSize: size, PageToken: resp.GetNextPageToken()})
			mustOK(t, err)
			// The failure is kept in the token: fabrikam stays unreachable.
			if !slices.Contains(resp.GetUnreachable(), fabrikam) {
				t.Fatalf("a later page lost fabrikam from unreachable: %v", resp.GetUnreachable())
			}
		}
		var wantRest []listed
		for _, l := range want[len(got):] {
			if l.tenant == identity.HomeTenantID {
				wantRest = append(wantRest, l)
			}
		}
		if len(rest) != len(wantRest) {
			t.Fatalf("after the throttle: %d incidents, want home's remaining %d", len(rest), len(wantRest))
		}
		for i := range rest {
			if rest[i].name != wantRest[i].name {
				t.Fatalf("after the throttle, incident %d is %s, want %s", i, rest[i].name, wantRest[i].name)
			}
		}
	})
}

// TestListAcrossTenantsThrottledFromTheStart: a tenant throttled beyond
// any retry on the first page is unreachable, with its retry delay, and
// the other tenants are listed.
func TestListAcrossTenantsThrottledFromTheStart(t *testing.T) {
	forEachPartnerFresh(t, func(t *testing.T, g *gateway, c client) {
		api := emulator.APIGraph
		if g.backend == "xdr" {
			api = emulator.APIXDR
		}
		g.emu.InjectFault(emulator.Throttle(api, identity.SecondTenantID, time.Hour))
		resp, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: everyTenant, PageSize: 10})
		mustOK(t, err)
		wantUnreachable(t, resp, map[string][2]string{
			"tenants/" + identity.SecondTenantID: {code.Code_RESOURCE_EXHAUSTED.String(), "UPSTREAM_THROTTLED"},
			"tenants/" + identity.ThirdTenantID:  {code.Code_FAILED_PRECONDITION.String(), "CONSENT_REQUIRED"},
		})
		if len(resp.GetIncidents()) != 10 {
			t.Fatalf("%d incidents, want 10", len(resp.GetIncidents()))
		}
		for _, in := range resp.GetIncidents() {
			if !strings.HasPrefix(in.GetName(), "tenants/"+identity.HomeTenantID+"/incidents/") {
				t.Errorf("incident %s is not the home tenant's", in.GetName())
			}
		}
	})
}

// twoTenantsPolicy allows soc-bot the home tenant and fabrikam (not
// northwind, which is on the partner allow-list too), and analyst-tool the
// home tenant alone.
const twoTenantsPolicy = `
callers:
  - identity: api-key:soc-bot
    tenants: [default, ` + identity.SecondTenantID + `]
    operations: [incidents.read]
  - identity: api-key:analyst-tool
    tenants: [default]
    operations: [incidents.read]
`

// TestListAcrossTenantsPolicy: a caller allowed two tenants sees exactly
// those two (northwind is not even tried), one allowed one tenant sees one,
// and the audit record lists every tenant touched.
func TestListAcrossTenantsPolicy(t *testing.T) {
	emu := startEmulator(t)
	auditFile := t.TempDir() + "/audit.jsonl"
	g := startGateway(t, emu, partnerConfig(t, emu, "graph",
		"--partner-tenants", identity.SecondTenantID+"=Fabrikam,"+identity.ThirdTenantDomain+"=Northwind",
		"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t),
		"--policy-file", writeFile(t, "policy.yaml", twoTenantsPolicy), "--audit-log-file", auditFile))
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
				token := ""
				for {
					resp, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: everyTenant, PageSize: 200, PageToken: token})
					mustOK(t, err)
					if len(resp.GetUnreachable()) != 0 {
						t.Fatalf("unreachable %v: the policy left northwind out", resp.GetUnreachable())
					}
					for _, in := range resp.GetIncidents() {
						seen[listedOf(in).tenant]++
					}
					if token = resp.GetNextPageToken(); token == "" {
						break
					}
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
				if seen[identity.HomeTenantID] != 240 || (len(want) == 2 && seen[identity.SecondTenantID] != 130) {
					t.Errorf("incidents per tenant %v, want every one (240 home, 130 fabrikam)", seen)
				}
			})
		}
	}
	var fanout []map[string]any
	for _, rec := range auditRecords(t, auditFile) {
		if rec["resource"] == everyTenant {
			fanout = append(fanout, rec)
		}
	}
	if len(fanout) == 0 {
		t.Fatal("no audit record of a call on tenants/-")
	}
	for _, rec := range fanout {
		touched, _ := rec["tenants"].([]any)
		var names []string
		for _, v := range touched {
			s, _ := v.(string)
			names = append(names, s)
		}
		switch rec["caller"] {
		case "api-key:soc-bot":
			if len(names) == 0 || len(names) > 2 || slices.Contains(names, identity.ThirdTenantID) {
				t.Errorf("soc-bot's record touched %v, want home and fabrikam at most", names)
			}
		case "api-key:analyst-tool":
			if !slices.Equal(names, []string{identity.HomeTenantID}) {
				t.Errorf("analyst-tool's record touched %v, want the home tenant", names)
			}
		}
		if rec["tenant"] != "-" || rec["code"] != "OK" {
			t.Errorf("record tenant %v code %v, want - and OK", rec["tenant"], rec["code"])
		}
	}
}

// TestListAcrossTenantsFilters: the filters apply to every tenant as to one
// (XDR's severity filter is the gateway's own), and page_size to the merged
// page: the merged listing is exactly the tenants' filtered listings.
func TestListAcrossTenantsFilters(t *testing.T) {
	forEachPartner(t, func(t *testing.T, g *gateway, c client) {
		ctx := context.Background()
		filtered := func(parent, token string, size int32) *defenderv1.ListIncidentsRequest {
			return &defenderv1.ListIncidentsRequest{Parent: parent, PageSize: size, PageToken: token,
				Statuses:   []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE, defenderv1.IncidentStatus_INCIDENT_STATUS_IN_PROGRESS},
				Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_HIGH}}
		}
		var want []listed
		for _, tenant := range []string{identity.HomeTenantID, identity.SecondTenantID} {
			token := ""
			for {
				resp, err := c.ListIncidents(ctx, filtered("tenants/"+tenant, token, 100))
				mustOK(t, err)
				for _, in := range resp.GetIncidents() {
					want = append(want, listedOf(in))
				}
				if token = resp.GetNextPageToken(); token == "" {
					break
				}
			}
		}
		slices.SortStableFunc(want, mergedBefore)
		if len(want) < 10 {
			t.Fatalf("only %d incidents match; the test needs more", len(want))
		}
		var got []string
		token := ""
		for {
			resp, err := c.ListIncidents(ctx, filtered(everyTenant, token, 7))
			mustOK(t, err)
			if len(resp.GetIncidents()) > 7 {
				t.Fatalf("a merged page of %d incidents, page size 7", len(resp.GetIncidents()))
			}
			for _, in := range resp.GetIncidents() {
				if in.GetSeverity() != defenderv1.Severity_SEVERITY_HIGH || in.GetStatus() == defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED {
					t.Errorf("%s does not match the filter: %v %v", in.GetName(), in.GetSeverity(), in.GetStatus())
				}
				got = append(got, in.GetName())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if len(got) != len(want) {
			t.Fatalf("merged %d incidents, the tenants' filtered listings %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i].name {
				t.Fatalf("merged incident %d is %s, want %s", i, got[i], want[i].name)
			}
		}
	})
}
