package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// streamedRows is a stream's rows, each "tenant col=value,…" over the
// schema's columns but GatewayTenant, sorted (tenants interleave); prefix
// names the tenant of a stream on one tenant. It checks that each batch
// names the tenant of its rows and counts its first row, and that the end
// counts them all.
func streamedRows(t *testing.T, s streamed, prefix string) []string {
	t.Helper()
	if len(s.msgs) < 2 || s.msgs[0].GetSchema() == nil || s.msgs[len(s.msgs)-1].GetEnd() == nil {
		t.Fatalf("stream %v, want the schema first and the end last", s.msgs)
	}
	cols := s.msgs[0].GetSchema().GetColumns()
	var out []string
	for _, m := range s.msgs[1 : len(s.msgs)-1] {
		b := m.GetBatch()
		if b == nil || b.GetFirstRow() != int64(len(out)) {
			t.Fatalf("message %v after %d rows, want a batch from there", m, len(out))
		}
		for _, r := range b.GetRows() {
			f := r.AsMap()
			tenant := prefix
			if prefix == "" {
				tenant, _ = f["GatewayTenant"].(string)
				if tenant != b.GetTenant() || tenant == "" {
					t.Errorf("a row of %q in a batch of %q", tenant, b.GetTenant())
				}
			}
			var vals []string
			for _, c := range cols {
				if c.GetName() != "GatewayTenant" {
					vals = append(vals, c.GetName()+"="+strings.TrimSpace(strings.ReplaceAll(fmtValue(f[c.GetName()]), "\n", " ")))
				}
			}
			out = append(out, tenant+" "+strings.Join(vals, ","))
		}
	}
	if end := s.msgs[len(s.msgs)-1].GetEnd(); end.GetRowCount() != int64(len(out)) {
		t.Errorf("end counts %d rows, the batches held %d", end.GetRowCount(), len(out))
	}
	slices.Sort(out)
	return out
}

// streamUnreachable is the end's unreachable tenants as a listing's.
func streamUnreachable(s streamed) *defenderv1.ListIncidentsResponse {
	end := s.msgs[len(s.msgs)-1].GetEnd()
	return &defenderv1.ListIncidentsResponse{Unreachable: end.GetUnreachable(), UnreachableDetails: end.GetUnreachableDetails()}
}

// TestStreamQueryAcrossTenants: StreamQuery on tenants/- streams the schema
// with GatewayTenant first, then each readable tenant's rows as the tenant
// alone streams them, tagged with it; northwind (no consent) is
// unreachable in the end. A subset of two runs in exactly those; one naming
// a tenant the gateway does not serve is PERMISSION_DENIED naming it, a
// malformed one INVALID_ARGUMENT naming tenants[i], as for RunQuery.
func TestStreamQueryAcrossTenants(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, partnerConfig(t, emu, backend,
				"--partner-tenants", identity.SecondTenantID+"=Fabrikam,"+identity.ThirdTenantDomain+"=Northwind"))
			ctx := context.Background()
			const kql = "AlertInfo | summarize count() by Severity"
			for _, tr := range streamTransports {
				t.Run(tr.name, func(t *testing.T) {
					var want []string
					for _, tenant := range []string{identity.HomeTenantID, identity.SecondTenantID} {
						s := tr.run(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: "tenants/" + tenant, Query: kql})
						mustOK(t, s.err)
						want = append(want, streamedRows(t, s, "tenants/"+tenant)...)
					}
					slices.Sort(want)
					s := tr.run(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: everyTenant, Query: kql, MaxBatchRows: 1})
					mustOK(t, s.err)
					if cols := s.msgs[0].GetSchema().GetColumns(); len(cols) == 0 || cols[0].GetName() != "GatewayTenant" || cols[0].GetType() != "string" {
						t.Fatalf("schema %v, want GatewayTenant first", cols)
					}
					if got := streamedRows(t, s, ""); !slices.Equal(got, want) || len(want) == 0 {
						t.Errorf("rows across tenants\n got %v\nwant %v", got, want)
					}
					wantUnreachable(t, streamUnreachable(s), map[string][2]string{"tenants/" + identity.ThirdTenantID: {"FAILED_PRECONDITION", "CONSENT_REQUIRED"}})

					// A subset of two: exactly those, northwind not tried.
					s = tr.run(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: everyTenant, Query: kql,
						Tenants: []string{identity.SecondTenantID, "tenants/" + identity.HomeTenantID}})
					mustOK(t, s.err)
					if got := streamedRows(t, s, ""); !slices.Equal(got, want) {
						t.Errorf("rows of the subset\n got %v\nwant %v", got, want)
					}
					wantUnreachable(t, streamUnreachable(s), nil)

					s = tr.run(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: everyTenant, Query: kql,
						Tenants: []string{identity.HomeTenantID, "tenants/eeeeeeee-0000-4000-8000-000000000000"}})
					wantStatus(t, s.err, codes.PermissionDenied, "CALLER_TENANT_NOT_ALLOWED", "tenants[1]")
					s = tr.run(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: everyTenant, Query: kql, Tenants: []string{identity.HomeTenantID, "tenants/bad name"}})
					wantStatus(t, s.err, codes.InvalidArgument, "INVALID_ARGUMENT", "tenants[1]")
					s = tr.run(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: "tenants/" + identity.HomeTenantID, Query: kql, Tenants: []string{identity.HomeTenantID}})
					wantStatus(t, s.err, codes.InvalidArgument, "INVALID_ARGUMENT", "tenants")
				})
			}

			// RunQuery and ListIncidents take the same subset.
			for _, c := range g.clients(t) {
				t.Run("RunQuery and ListIncidents/"+c.name(), func(t *testing.T) {
					resp, err := c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: everyTenant, Query: kql, Tenants: []string{"tenants/" + identity.SecondTenantID}})
					mustOK(t, err)
					if len(resp.GetRows()) == 0 || len(resp.GetUnreachable()) != 0 {
						t.Fatalf("%d rows, unreachable %v; want fabrikam's rows alone", len(resp.GetRows()), resp.GetUnreachable())
					}
					for _, r := range resp.GetRows() {
						if tenant := r.AsMap()["GatewayTenant"]; tenant != "tenants/"+identity.SecondTenantID {
							t.Errorf("a row of %v in a subset of fabrikam", tenant)
						}
					}
					_, err = c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: everyTenant, Query: kql, Tenants: []string{"tenants/" + identity.ThirdTenantID, "tenants/eeeeeeee-0000-4000-8000-000000000000"}})
					wantStatus(t, err, codes.PermissionDenied, "CALLER_TENANT_NOT_ALLOWED", "tenants[1]")
					_, err = c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: everyTenant, Query: kql, Tenants: []string{"tenants/" + identity.HomeTenantID, "tenants/" + identity.HomeTenantID}})
					wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "tenants")

					// ListIncidents takes it too, on every page.
					var token string
					pages := 0
					for {
						page, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: everyTenant, PageSize: 100, PageToken: token,
							Tenants: []string{identity.SecondTenantID}})
						mustOK(t, err)
						pages++
						if len(page.GetUnreachable()) != 0 {
							t.Fatalf("unreachable %v in a subset of fabrikam", page.GetUnreachable())
						}
						for _, in := range page.GetIncidents() {
							if !strings.HasPrefix(in.GetName(), "tenants/"+identity.SecondTenantID+"/") {
								t.Fatalf("incident %s in a subset of fabrikam", in.GetName())
							}
						}
						if token = page.GetNextPageToken(); token == "" {
							break
						}
					}
					if pages < 2 {
						t.Errorf("%d pages of fabrikam's incidents, want several", pages)
					}
					_, err = c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: everyTenant, Tenants: []string{"tenants/" + identity.ThirdTenantDomain, "not a tenant"}})
					wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "tenants[1]")
				})
			}
		})
	}
}

// twoTenantsHuntingPolicy allows soc-bot to hunt in the home tenant and
// fabrikam (not northwind, which is on the partner allow-list too).
const twoTenantsHuntingPolicy = `
callers:
  - identity: api-key:soc-bot
    tenants: [default, ` + identity.SecondTenantID + `]
    operations: [hunting.run]
`

// TestStreamQueryAcrossTenantsPolicy: a caller allowed two tenants streams
// exactly those two (northwind is not even tried); a subset naming
// northwind is PERMISSION_DENIED naming it; the audit record of the stream
// lists the tenants touched.
func TestStreamQueryAcrossTenantsPolicy(t *testing.T) {
	emu := startEmulator(t)
	auditFile := t.TempDir() + "/audit.jsonl"
	g := startGateway(t, emu, partnerConfig(t, emu, "graph",
		"--partner-tenants", identity.SecondTenantID+"=Fabrikam,"+identity.ThirdTenantDomain+"=Northwind",
		"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t),
		"--policy-file", writeFile(t, "policy.yaml", twoTenantsHuntingPolicy), "--audit-log-file", auditFile))
	ctx := withHeaders(context.Background(), "x-api-key", socKey)
	const kql = "AlertInfo | summarize count() by Severity"
	for _, tr := range streamTransports {
		t.Run(tr.name, func(t *testing.T) {
			s := tr.run(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: everyTenant, Query: kql})
			mustOK(t, s.err)
			seen := map[string]bool{}
			for _, row := range streamedRows(t, s, "") {
				seen[strings.Fields(row)[0]] = true
			}
			if len(seen) != 2 || !seen["tenants/"+identity.HomeTenantID] || !seen["tenants/"+identity.SecondTenantID] {
				t.Errorf("rows of %v, want exactly the home tenant and fabrikam", seen)
			}
			wantUnreachable(t, streamUnreachable(s), nil)
			s = tr.run(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: everyTenant, Query: kql, Tenants: []string{"tenants/" + identity.ThirdTenantDomain}})
			wantStatus(t, s.err, codes.PermissionDenied, "CALLER_TENANT_NOT_ALLOWED", "tenants[0]", identity.ThirdTenantDomain)
		})
	}
	var records int
	for _, rec := range auditRecords(t, auditFile) {
		if rec["resource"] != everyTenant || rec["code"] != "OK" {
			continue
		}
		records++
		touched, _ := rec["tenants"].([]any)
		if len(touched) != 2 || slices.Contains(touched, any(identity.ThirdTenantID)) {
			t.Errorf("the stream's record touched %v, want the home tenant and fabrikam", touched)
		}
	}
	if records != len(streamTransports) {
		t.Errorf("%d audit records of a stream on tenants/-, want %d", records, len(streamTransports))
	}
}

// TestStreamQueryAcrossTenantsFaults: a tenant over its hunting CPU quota is
// unreachable in the end; a tenant whose body is cut part way is
// unreachable too, the rows it streamed before the cut sent and no others.
func TestStreamQueryAcrossTenantsFaults(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			api, route := emulator.APIGraph, "/v1.0/security/runHuntingQuery"
			if backend == "xdr" {
				api, route = emulator.APIXDR, "/api/advancedhunting/run"
			}
			emu := startEmulator(t)
			g := startGateway(t, emu, partnerConfig(t, emu, backend,
				"--partner-tenants", identity.SecondTenantID+"=Fabrikam,"+identity.ThirdTenantDomain+"=Northwind"))
			ctx := context.Background()
			const kql = "DeviceEvents | take 200"
			whole := func(tenant string) []string {
				s := streamGRPC(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: "tenants/" + tenant, Query: kql})
				mustOK(t, s.err)
				return streamedRows(t, s, "tenants/"+tenant)
			}
			home, fabrikam := whole(identity.HomeTenantID), whole(identity.SecondTenantID)

			remove := emu.InjectFault(emulator.Truncated(api, identity.SecondTenantID, route))
			s := streamGRPC(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: everyTenant, Query: kql, MaxBatchRows: 10})
			remove()
			mustOK(t, s.err)
			var gotHome, gotFabrikam []string
			for _, row := range streamedRows(t, s, "") {
				switch strings.Fields(row)[0] {
				case "tenants/" + identity.HomeTenantID:
					gotHome = append(gotHome, row)
				case "tenants/" + identity.SecondTenantID:
					gotFabrikam = append(gotFabrikam, row)
					if !slices.Contains(fabrikam, row) {
						t.Errorf("a row of fabrikam's cut body it does not have: %s", row)
					}
				default:
					t.Errorf("a row of another tenant: %s", row)
				}
			}
			if !slices.Equal(gotHome, home) || len(gotFabrikam) == 0 || len(gotFabrikam) >= len(fabrikam) {
				t.Errorf("%d home rows (want %d), %d of fabrikam's %d", len(gotHome), len(home), len(gotFabrikam), len(fabrikam))
			}
			wantUnreachable(t, streamUnreachable(s), map[string][2]string{
				"tenants/" + identity.SecondTenantID: {"UNAVAILABLE", "UPSTREAM_MALFORMED_RESPONSE"},
				"tenants/" + identity.ThirdTenantID:  {"FAILED_PRECONDITION", "CONSENT_REQUIRED"},
			})

			emu.InjectFault(emulator.HuntingCPUQuota(api, identity.SecondTenantID))
			s = streamGRPC(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: everyTenant, Query: kql})
			mustOK(t, s.err)
			if got := streamedRows(t, s, ""); !slices.Equal(got, home) {
				t.Errorf("%d rows while fabrikam is over its quota, want the home tenant's %d", len(got), len(home))
			}
			wantUnreachable(t, streamUnreachable(s), map[string][2]string{
				"tenants/" + identity.SecondTenantID: {"RESOURCE_EXHAUSTED", "UPSTREAM_THROTTLED"},
				"tenants/" + identity.ThirdTenantID:  {"FAILED_PRECONDITION", "CONSENT_REQUIRED"},
			})
		})
	}
}
