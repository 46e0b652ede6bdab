package e2e

import (
	"context"
	"strings"
	"testing"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// The read cache (off by default) as a caller sees it: a repeated read is
// served without an upstream call, the gateway's own update is seen at
// once, and one user's cached view is never served to another user or the
// app (docs/design.md "The cache", "The staleness contract").

// apiCalls counts the emulator's Graph or XDR requests whose path holds
// fragment.
func apiCalls(emu *emulator.Emulator, fragment string) int {
	n := 0
	for _, r := range emu.Requests() {
		if r.API != emulator.APIEntra && strings.Contains(r.Path, fragment) {
			n++
		}
	}
	return n
}

func TestReadCacheServesRepeatsAndSeesOwnWrites(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, partnerConfig(t, emu, backend,
				"--cache-ttl-incident-get=10m", "--cache-ttl-incident-read=10m"))
			c := g.clients(t)[0]
			ctx := context.Background()

			page, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 5})
			mustOK(t, err)
			target := page.GetIncidents()[0]
			get := func() *defenderv1.Incident {
				t.Helper()
				in, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: target.GetName()})
				mustOK(t, err)
				return in
			}
			get()
			gets := apiCalls(emu, "/incidents/"+target.GetId())
			lists := apiCalls(emu, "/incidents")
			get()
			_, err = c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 5})
			mustOK(t, err)
			if n := apiCalls(emu, "/incidents"); n != lists {
				t.Fatalf("a repeated get and listing made %d upstream calls, want 0 (cached)", n-lists)
			}

			// The gateway's own update drops the incident's cached get and
			// the tenant's listings: the next reads show it.
			_, err = c.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{
				Incident:   &defenderv1.Incident{Name: target.GetName(), AssignedTo: "cache-check@contoso.onmicrosoft.com"},
				UpdateMask: mask("assigned_to")})
			mustOK(t, err)
			if got := get().GetAssignedTo(); got != "cache-check@contoso.onmicrosoft.com" {
				t.Errorf("after the update the get shows assignedTo %q: a stale cached read", got)
			}
			if n := apiCalls(emu, "/incidents/"+target.GetId()); n <= gets+1 {
				t.Errorf("the get after the update made no upstream call (%d before, %d after the update)", gets, n)
			}
			page, err = c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 5})
			mustOK(t, err)
			for _, in := range page.GetIncidents() {
				if in.GetName() == target.GetName() && in.GetAssignedTo() != "cache-check@contoso.onmicrosoft.com" {
					t.Errorf("the listing after the update shows assignedTo %q: a stale cached page", in.GetAssignedTo())
				}
			}
		})
	}
}

func TestReadCacheNeverSharesAcrossIdentities(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, partnerConfig(t, emu, backend, "--cache-ttl-incident-read=10m"))
			c := g.clients(t)[0]
			alice := asUser(context.Background(), userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN}))
			bob := asUser(context.Background(), userToken(t, emu, emulator.UserTokenSpec{UPN: identity.BobUPN}))

			// The same request by each identity, the app first so that its
			// (widest) view is the one in the cache.
			asApp := listAll(t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 50)
			asAlice := listAllIn(alice, t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 50)
			asBob := listAllIn(bob, t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 50)
			wantUserView(t, asApp, func(id int) bool { return id%2 == 0 }, asAlice)
			wantUserView(t, asApp, func(id int) bool { return id%3 == 0 }, asBob)

			// Each identity's repeat is a hit of its own entry.
			before := apiCalls(emu, "/incidents")
			again := listAllIn(bob, t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 50)
			if n := apiCalls(emu, "/incidents"); n != before {
				t.Errorf("bob's repeated listing made %d upstream calls, want 0 (his own cached pages)", n-before)
			}
			wantUserView(t, asApp, func(id int) bool { return id%3 == 0 }, again)
		})
	}
}
