package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// alertUnreachable waits for a heartbeat of w listing tenant as
// unreachable and returns its details.
func alertUnreachable(t *testing.T, w *alertWatch, tenant string) *defenderv1.UnreachableTenant {
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

// alertChangesNamed waits for a change to each of names, skipping others.
func alertChangesNamed(t *testing.T, w *alertWatch, what string, names ...string) {
	t.Helper()
	missing := map[string]bool{}
	for _, n := range names {
		missing[n] = true
	}
	for len(missing) > 0 {
		ch := w.change(t, fmt.Sprintf("%s (%d missing: %v)", what, len(missing), missing), func(*defenderv1.AlertChange) bool { return true })
		delete(missing, ch.GetAlert().GetName())
	}
}

// touchAlert changes an alert of tenant upstream and returns its gateway
// name.
func touchAlert(t *testing.T, emu *emulator.Emulator, tenant, id, comment string) string {
	t.Helper()
	if _, err := emu.UpdateAlert(tenant, id, store.AlertPatch{Comment: comment, Author: "portal"}); err != nil {
		t.Fatal(err)
	}
	return "tenants/" + tenant + "/alerts/" + id
}

// TestWatchAlertsAcrossTenants: over gRPC and REST, one WatchAlerts of
// tenants/- gets the alert changes of the home tenant and fabrikam, each
// named under its real tenant, and reports northwind (no consent)
// unreachable; resumed with a cursor it gets every change made in both
// tenants while it was away. Cursors of WatchIncidents on tenants/- are
// refused on it and the reverse, as is one tenant's, naming `cursor`.
func TestWatchAlertsAcrossTenants(t *testing.T) {
	emu, g := startWatchGateway(t, "graph", partnerWatchFlags()...)
	home, fabrikam := identity.HomeTenantID, identity.SecondTenantID
	for i, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			homeAlerts, fabAlerts := tenantAlerts(t, c, home), tenantAlerts(t, c, fabrikam)
			if len(homeAlerts) < 4*(i+1) || len(fabAlerts) < 4*(i+1) {
				t.Fatalf("%d home and %d fabrikam alerts: too few", len(homeAlerts), len(fabAlerts))
			}
			homeAlerts, fabAlerts = homeAlerts[4*i:], fabAlerts[4*i:]
			w := openAlertWatch(t, g, c.name(), &defenderv1.WatchAlertsRequest{Parent: everyTenant})
			d := alertUnreachable(t, w, "tenants/"+identity.ThirdTenantID)
			if d.GetCode() != code.Code_FAILED_PRECONDITION || d.GetReason() != "CONSENT_REQUIRED" || d.GetMessage() == "" {
				t.Errorf("northwind unreachable with %v %s %q, want FAILED_PRECONDITION CONSENT_REQUIRED", d.GetCode(), d.GetReason(), d.GetMessage())
			}
			live := []string{
				touchAlert(t, emu, home, homeAlerts[0].id, "live "+c.name()),
				touchAlert(t, emu, fabrikam, fabAlerts[0].id, "live "+c.name()),
			}
			alertChangesNamed(t, w, "the live alert changes of both tenants", live...)
			cursor := w.cursor
			w.cancel()

			away := []string{
				touchAlert(t, emu, fabrikam, fabAlerts[1].id, "away "+c.name()),
				touchAlert(t, emu, home, homeAlerts[1].id, "away "+c.name()),
			}
			resumed := openAlertWatch(t, g, c.name(), &defenderv1.WatchAlertsRequest{Parent: everyTenant, Cursor: cursor})
			alertChangesNamed(t, resumed, "the alert changes made while away", away...)

			incidents := openWatch(t, g, c, &defenderv1.WatchIncidentsRequest{Parent: everyTenant})
			incidents.heartbeat(t)
			single := openAlertWatch(t, g, c.name(), &defenderv1.WatchAlertsRequest{Parent: "tenants/default"})
			single.heartbeat(t)
			for name, req := range map[string]*defenderv1.WatchAlertsRequest{
				"a WatchIncidents cursor of tenants/-": {Parent: everyTenant, Cursor: incidents.cursor},
				"one tenant's alert cursor":            {Parent: everyTenant, Cursor: single.cursor},
				"a cursor of tenants/- on one tenant":  {Parent: "tenants/default", Cursor: cursor},
				"altered":                              {Parent: everyTenant, Cursor: alter(cursor)},
			} {
				st := wantStatus(t, openAlertWatch(t, g, c.name(), req).ended(t), codes.InvalidArgument, "INVALID_ARGUMENT")
				if !violates(st, "cursor") {
					t.Errorf("%s: %v does not name the field cursor", name, st.Details())
				}
			}
			st := wantStatus(t, openWatch(t, g, c, &defenderv1.WatchIncidentsRequest{Parent: everyTenant, Cursor: cursor}).ended(t), codes.InvalidArgument, "INVALID_ARGUMENT")
			if !violates(st, "cursor") {
				t.Errorf("a WatchAlerts cursor of tenants/- on WatchIncidents: %v does not name the field cursor", st.Details())
			}
		})
	}
}

// TestWatchAlertsAcrossTenantsXDRTenant: a partner tenant on the XDR
// backend (no alerts_v2) is unreachable with UNSUPPORTED_BY_BACKEND, as is
// northwind without consent, and the home tenant's alert changes arrive.
func TestWatchAlertsAcrossTenantsXDRTenant(t *testing.T) {
	emu := startEmulator(t)
	file := writeFile(t, "partners.yaml", `
- tenant: `+identity.SecondTenantID+`
  backend: xdr
  api_url: `+emu.XDRURL()+`
  scope: `+identity.XDRResource+`/.default
- tenant: `+identity.ThirdTenantDomain+`
`)
	g := startGateway(t, emu, partnerConfig(t, emu, "graph", slices.Concat(watchFlags, []string{"--partner-tenants-file", file})...))
	for i, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			w := openAlertWatch(t, g, c.name(), &defenderv1.WatchAlertsRequest{Parent: everyTenant})
			d := alertUnreachable(t, w, "tenants/"+identity.SecondTenantID)
			if d.GetCode() != code.Code_UNIMPLEMENTED || d.GetReason() != "UNSUPPORTED_BY_BACKEND" {
				t.Errorf("the XDR tenant unreachable with %v %s, want UNIMPLEMENTED UNSUPPORTED_BY_BACKEND", d.GetCode(), d.GetReason())
			}
			if d := alertUnreachable(t, w, "tenants/"+identity.ThirdTenantID); d.GetReason() != "CONSENT_REQUIRED" {
				t.Errorf("northwind unreachable with %s, want CONSENT_REQUIRED", d.GetReason())
			}
			ids := tenantAlerts(t, c, identity.HomeTenantID)
			alertChangesNamed(t, w, "the home tenant's alert change",
				touchAlert(t, emu, identity.HomeTenantID, ids[i].id, "xdr partner "+c.name()))
		})
	}
}
