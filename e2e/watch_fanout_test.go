package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// partnerWatchFlags are watchFlags on a gateway whose partner allow-list
// holds fabrikam (consented) and northwind (not consented).
func partnerWatchFlags(extra ...string) []string {
	return slices.Concat(watchFlags, []string{
		"--partner-tenants", identity.SecondTenantID + "=Fabrikam," + identity.ThirdTenantDomain + "=Northwind",
	}, extra)
}

// createIn creates an incident in tenant and returns its gateway name.
func createIn(t *testing.T, emu *emulator.Emulator, tenant, title string) string {
	t.Helper()
	in, err := emu.CreateIncident(tenant, store.NewIncident{Title: title, Severity: store.SeverityHigh})
	if err != nil {
		t.Fatal(err)
	}
	return "tenants/" + tenant + "/incidents/" + strconv.FormatInt(in.ID, 10)
}

// changesNamed waits for a change to each of names, skipping the others.
func changesNamed(t *testing.T, w *watchStream, what string, names ...string) {
	t.Helper()
	missing := map[string]bool{}
	for _, n := range names {
		missing[n] = true
	}
	for len(missing) > 0 {
		ch := w.change(t, fmt.Sprintf("%s (%d missing: %v)", what, len(missing), missing), func(*defenderv1.IncidentChange) bool { return true })
		delete(missing, ch.GetIncident().GetName())
	}
}

// unreachableHeartbeat waits for a heartbeat listing tenant as unreachable
// and returns its details.
func unreachableHeartbeat(t *testing.T, w *watchStream, tenant string) *defenderv1.UnreachableTenant {
	t.Helper()
	deadline := time.Now().Add(watchWait)
	for time.Now().Before(deadline) {
		hb := w.heartbeat(t)
		if i := slices.Index(hb.GetUnreachable(), tenant); i >= 0 {
			return hb.GetUnreachableDetails()[i]
		}
	}
	t.Fatalf("no heartbeat reported %s unreachable", tenant)
	return nil
}

// TestWatchAcrossTenants: on both backends and transports, one watch of
// tenants/- gets the changes of the home tenant and fabrikam, each named
// under its real tenant, and reports northwind (no consent) unreachable;
// resumed with a cursor it gets every change made in both tenants while
// it was away. A cursor of one tenant's watch is refused on tenants/-,
// and the reverse, naming `cursor`.
func TestWatchAcrossTenants(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu, g := startWatchGateway(t, backend, partnerWatchFlags()...)
			home, fabrikam := identity.HomeTenantID, identity.SecondTenantID
			for _, c := range g.clients(t) {
				t.Run(c.name(), func(t *testing.T) {
					w := openWatch(t, g, c, &defenderv1.WatchIncidentsRequest{Parent: everyTenant})
					d := unreachableHeartbeat(t, w, "tenants/"+identity.ThirdTenantID)
					if d.GetCode() != code.Code_FAILED_PRECONDITION || d.GetReason() != "CONSENT_REQUIRED" || d.GetMessage() == "" {
						t.Errorf("northwind unreachable with %v %s %q, want FAILED_PRECONDITION CONSENT_REQUIRED", d.GetCode(), d.GetReason(), d.GetMessage())
					}
					live := []string{createIn(t, emu, home, "live home "+c.name()), createIn(t, emu, fabrikam, "live fabrikam "+c.name())}
					changesNamed(t, w, "the live changes of both tenants", live...)
					cursor := w.cursor
					w.cancel()

					// Away: a change in each tenant.
					away := []string{createIn(t, emu, fabrikam, "away fabrikam "+c.name()), createIn(t, emu, home, "away home "+c.name())}
					resumed := openWatch(t, g, c, &defenderv1.WatchIncidentsRequest{Parent: everyTenant, Cursor: cursor})
					changesNamed(t, resumed, "the changes made while away", away...)

					single := openWatch(t, g, c, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default"})
					single.heartbeat(t)
					for name, req := range map[string]*defenderv1.WatchIncidentsRequest{
						"one tenant's cursor on tenants/-": {Parent: everyTenant, Cursor: single.cursor},
						"a cursor of tenants/- on one":     {Parent: "tenants/default", Cursor: cursor},
						"altered":                          {Parent: everyTenant, Cursor: alter(cursor)},
					} {
						st := wantStatus(t, openWatch(t, g, c, req).ended(t), codes.InvalidArgument, "INVALID_ARGUMENT")
						if !violates(st, "cursor") {
							t.Errorf("%s: %v does not name the field cursor", name, st.Details())
						}
					}
				})
			}
		})
	}
}

// TestWatchAcrossTenantsPolicy: a caller allowed two tenants watches
// exactly those two (northwind is not tried, so not reported), and the
// audit record of the watch lists them.
func TestWatchAcrossTenantsPolicy(t *testing.T) {
	auditFile := t.TempDir() + "/audit.jsonl"
	emu, g := startWatchGateway(t, "graph", partnerWatchFlags(
		"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t),
		"--policy-file", writeFile(t, "policy.yaml", twoTenantsPolicy), "--audit-log-file", auditFile)...)
	ctx := withHeaders(context.Background(), "x-api-key", socKey)
	w := watchGRPCAs(t, ctx, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: everyTenant})
	names := []string{createIn(t, emu, identity.HomeTenantID, "policy home"), createIn(t, emu, identity.SecondTenantID, "policy fabrikam")}
	seen := map[string]bool{}
	deadline := time.After(watchWait)
	for len(seen) < 2 {
		select {
		case m := <-w.msgs:
			if hb := m.GetHeartbeat(); len(hb.GetUnreachable()) != 0 {
				t.Fatalf("unreachable %v: the policy left northwind out", hb.GetUnreachable())
			}
			if n := m.GetChange().GetIncident().GetName(); slices.Contains(names, n) {
				seen[n] = true
			}
		case err := <-w.end:
			t.Fatalf("the watch ended: %v", err)
		case <-deadline:
			t.Fatalf("changes seen %v, want %v", seen, names)
		}
	}
	w.cancel() // the audit record is written when the stream ends

	var touched []string
	for end := time.Now().Add(watchWait); time.Now().Before(end) && touched == nil; time.Sleep(50 * time.Millisecond) {
		for _, rec := range auditRecords(t, auditFile) {
			if rec["resource"] != everyTenant || !strings.HasSuffix(fmt.Sprint(rec["method"]), "/WatchIncidents") {
				continue
			}
			vs, _ := rec["tenants"].([]any)
			for _, v := range vs {
				touched = append(touched, fmt.Sprint(v))
			}
		}
	}
	slices.Sort(touched)
	want := []string{identity.HomeTenantID, identity.SecondTenantID}
	slices.Sort(want)
	if !slices.Equal(touched, want) {
		t.Errorf("the watch's audit record touched %v, want exactly %v", touched, want)
	}
}

// TestWatchAcrossTenantsSharesPollers: watches of tenants/- ride the
// tenants' own pollers: with a watch of the home tenant alone and three of
// tenants/- open, the home tenant and fabrikam each have one poller, and a
// change in the home tenant reaches every watch.
func TestWatchAcrossTenantsSharesPollers(t *testing.T) {
	emu, g := startWatchGateway(t, "graph", partnerWatchFlags()...)
	home, fabrikam := identity.HomeTenantID, identity.SecondTenantID
	single := watchGRPC(t, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default"})
	single.heartbeat(t)
	watchers := []*watchStream{single}
	for range 3 {
		w := watchGRPC(t, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: everyTenant})
		w.heartbeat(t)
		watchers = append(watchers, w)
	}
	metrics := scrape(t, "http://"+g.httpAddr+"/metrics")
	for _, want := range []string{
		`defender_gateway_watchers{tenant="` + home + `"} 4`,
		`defender_gateway_watch_pollers{tenant="` + home + `"} 1`,
		`defender_gateway_watchers{tenant="` + fabrikam + `"} 3`,
		`defender_gateway_watch_pollers{tenant="` + fabrikam + `"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	name := createIn(t, emu, home, "for every watch")
	for _, w := range watchers {
		changesNamed(t, w, "the home tenant's change, on every watch", name)
	}
}
