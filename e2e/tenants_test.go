package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// homeAliases are every name of the emulator's home tenant a request may
// use: "default", its tenant id and its verified domain, in any case.
var homeAliases = []string{"default", "DEFAULT", identity.HomeTenantID, strings.ToUpper(identity.HomeTenantID),
	identity.HomeTenantDomain, "CONTOSO.onmicrosoft.com"}

// fabrikamAliases are the names of the partner tenant fabrikam.
var fabrikamAliases = []string{identity.SecondTenantDomain, identity.SecondTenantID, strings.ToUpper(identity.SecondTenantID)}

// tenantsGateway is a gateway whose home tenant is configured as homeAs (a
// GUID or a domain), with fabrikam allow-listed by domain.
func tenantsGateway(t *testing.T, emu *emulator.Emulator, backend, homeAs string, extra ...string) *gateway {
	t.Helper()
	args := append([]string{"--tenant-id", homeAs, "--partner-tenants", identity.SecondTenantDomain}, extra...)
	return startGateway(t, emu, partnerConfig(t, emu, backend, args...))
}

// forEachHomeConfig runs fn on every backend with the home tenant
// configured by GUID and by domain, on a fresh emulator and gateway each,
// with the gateway's gRPC and REST clients.
func forEachHomeConfig(t *testing.T, fn func(t *testing.T, g *gateway, clients []client)) {
	t.Helper()
	for _, backend := range backends {
		for _, homeAs := range []string{identity.HomeTenantID, identity.HomeTenantDomain} {
			t.Run(backend+"/home="+homeAs, func(t *testing.T) {
				emu := startEmulator(t)
				g := tenantsGateway(t, emu, backend, homeAs)
				fn(t, g, g.clients(t))
			})
		}
	}
}

// wantUnder checks that every incident is named under the tenant id.
func wantUnder(t *testing.T, what, tenantID string, ins []*defenderv1.Incident) {
	t.Helper()
	if len(ins) == 0 {
		t.Fatalf("%s: no incidents", what)
	}
	for _, in := range ins {
		if want := "tenants/" + tenantID + "/incidents/" + in.GetId(); in.GetName() != want {
			t.Errorf("%s: name %q, want %q", what, in.GetName(), want)
		}
	}
}

func TestTenantsByAnyNameReachOneTenantUnderItsID(t *testing.T) {
	forEachHomeConfig(t, func(t *testing.T, g *gateway, clients []client) {
		entra := g.emu.Entra()
		for i, c := range clients {
			t.Run(c.name(), func(t *testing.T) {
				ctx := context.Background()
				g.emu.ResetRequests()
				for _, tt := range []struct {
					aliases  []string
					id, ctxt string
				}{
					{homeAliases, identity.HomeTenantID, "contexts/app"},
					{fabrikamAliases, identity.SecondTenantID, "contexts/partner/tenants/" + identity.SecondTenantID},
				} {
					for _, alias := range tt.aliases {
						resp, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/" + alias, PageSize: 2})
						mustOK(t, err)
						wantUnder(t, "ListIncidents in "+alias, tt.id, resp.GetIncidents())
						got, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/" + alias + "/incidents/" + resp.GetIncidents()[0].GetId()})
						mustOK(t, err)
						wantUnder(t, "GetIncident in "+alias, tt.id, []*defenderv1.Incident{got})
						who, err := c.WhoAmI(ctx, &defenderv1.WhoAmIRequest{Tenant: "tenants/" + alias})
						mustOK(t, err)
						if who.GetTenant() != tt.id || who.GetContext() != tt.ctxt {
							t.Errorf("WhoAmI in %s = tenant %q context %q, want %q %q", alias, who.GetTenant(), who.GetContext(), tt.id, tt.ctxt)
						}
					}
				}
				ctxs, err := c.ListContexts(ctx, &defenderv1.ListContextsRequest{})
				mustOK(t, err)
				var names []string
				for _, ac := range ctxs.GetContexts() {
					names = append(names, ac.GetName()+"@"+ac.GetTenant())
				}
				want := "contexts/app@" + identity.HomeTenantID + " contexts/partner/tenants/" + identity.SecondTenantID + "@" + identity.SecondTenantID
				if got := strings.Join(names, " "); !strings.HasPrefix(got, want) {
					t.Errorf("ListContexts = %s, want it to start with %s", got, want)
				}
				// The second transport finds every id, token and status
				// cached: nothing more is asked of Entra.
				if i > 0 {
					for _, r := range g.emu.Requests() {
						if r.API == emulator.APIEntra {
							t.Errorf("a cached name made a request to Entra: %+v", r)
						}
					}
				}
			})
		}
		// One token source per tenant, whatever the aliases.
		for _, id := range []string{identity.HomeTenantID, identity.SecondTenantID} {
			if n := entra.TokenRequestsFor(id, identity.ClientID); n != 1 {
				t.Errorf("token requests in %s = %d, want 1", id, n)
			}
		}
	})
}

func TestTenantsNotServedAreRefusedWithoutATokenOrAPIRequest(t *testing.T) {
	forEachHomeConfig(t, func(t *testing.T, g *gateway, clients []client) {
		for _, c := range clients {
			t.Run(c.name(), func(t *testing.T) {
				// Unknown to Entra; a real tenant that is not allow-listed,
				// by domain and by id.
				for _, tenant := range []string{"unknown.example.com", identity.ThirdTenantDomain, identity.ThirdTenantID} {
					g.emu.ResetRequests()
					_, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/" + tenant})
					wantStatus(t, err, codes.PermissionDenied, "TENANT_NOT_ALLOWED", tenant)
					_, err = c.StartDeviceLogin(context.Background(), &defenderv1.StartDeviceLoginRequest{Tenant: "tenants/" + tenant})
					wantStatus(t, err, codes.PermissionDenied, "TENANT_NOT_ALLOWED")
					for _, r := range g.emu.Requests() {
						if r.API != emulator.APIEntra || r.Method != http.MethodGet || !strings.HasSuffix(r.Path, "/v2.0/.well-known/openid-configuration") {
							t.Errorf("%s: a request other than a discovery read reached the emulator: %+v", tenant, r)
						}
					}
				}
			})
		}
	})
}

// TestDeviceLoginByDomainAsInTheDocs follows docs/auth.md: a sign-in
// started on tenants/default is read back under the home tenant's domain,
// with the home tenant configured by GUID (and by domain); the account is
// then usable under every name of the tenant: one account cache.
func TestDeviceLoginByDomainAsInTheDocs(t *testing.T) {
	for _, backend := range backends {
		for _, homeAs := range []string{identity.HomeTenantID, identity.HomeTenantDomain} {
			for i, transport := range []string{"grpc", "rest"} {
				t.Run(backend+"/home="+homeAs+"/"+transport, func(t *testing.T) {
					emu := startEmulator(t)
					c := tenantsGateway(t, emu, backend, homeAs).clients(t)[i]
					for _, start := range []string{"tenants/default", "tenants/" + identity.HomeTenantDomain} {
						dl := deviceLogin(t, c, start)
						id := dl.GetName()[strings.LastIndex(dl.GetName(), "/")+1:]
						if dl.GetName() != "tenants/"+identity.HomeTenantID+"/deviceLogins/"+id {
							t.Errorf("StartDeviceLogin(%s) name = %q, want it under the tenant id", start, dl.GetName())
						}
						mustOK(t, emu.Entra().ApproveDeviceCode(dl.GetUserCode(), identity.AliceUPN))
						done := waitDeviceLogin(t, c, "tenants/"+identity.HomeTenantDomain+"/deviceLogins/"+id)
						if done.GetState() != defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_COMPLETED || done.GetName() != dl.GetName() {
							t.Fatalf("GetDeviceLogin by domain = %v", done)
						}
					}
					asAlice := withHeaders(context.Background(), "x-defender-account", identity.AliceUPN)
					for _, alias := range homeAliases {
						who, err := c.WhoAmI(asAlice, &defenderv1.WhoAmIRequest{Tenant: "tenants/" + alias})
						mustOK(t, err)
						if who.GetTenant() != identity.HomeTenantID || who.GetUpstreamIdentity() != identity.AliceUPN {
							t.Errorf("WhoAmI as alice in %s = %v", alias, who)
						}
						wantAliceView(t, context.Background(), c, listAllIn(asAlice, t, c, &defenderv1.ListIncidentsRequest{Parent: "tenants/" + alias}, 100))
					}
					ctxs, err := c.ListContexts(context.Background(), &defenderv1.ListContextsRequest{})
					mustOK(t, err)
					accounts := 0
					for _, ac := range ctxs.GetContexts() {
						if strings.HasPrefix(ac.GetName(), "contexts/user/accounts/") {
							accounts++
							if ac.GetTenant() != identity.HomeTenantID || ac.GetTokenStatus() != defenderv1.TokenStatus_TOKEN_STATUS_AVAILABLE {
								t.Errorf("account context = %v", ac)
							}
						}
					}
					if accounts != 1 {
						t.Errorf("%d account contexts, want alice once: %v", accounts, ctxs)
					}
				})
			}
		}
	}
}

func TestUserTokensMatchTheirTenantByAnyName(t *testing.T) {
	forEachHomeConfig(t, func(t *testing.T, g *gateway, clients []client) {
		alice := asUser(context.Background(), userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.AliceUPN}))
		carol := asUser(context.Background(), userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.CarolUPN}))
		for _, c := range clients {
			t.Run(c.name(), func(t *testing.T) {
				for _, alias := range homeAliases {
					who, err := c.WhoAmI(alice, &defenderv1.WhoAmIRequest{Tenant: "tenants/" + alias})
					mustOK(t, err)
					if who.GetContext() != "contexts/user/on-behalf-of" || who.GetTenant() != identity.HomeTenantID {
						t.Errorf("WhoAmI as alice in %s = %v", alias, who)
					}
					_, err = c.WhoAmI(carol, &defenderv1.WhoAmIRequest{Tenant: "tenants/" + alias})
					wantStatus(t, err, codes.PermissionDenied, "USER_TENANT_MISMATCH")
				}
				for _, alias := range fabrikamAliases {
					who, err := c.WhoAmI(carol, &defenderv1.WhoAmIRequest{Tenant: "tenants/" + alias})
					mustOK(t, err)
					if who.GetTenant() != identity.SecondTenantID || who.GetUpstreamIdentity() != identity.CarolUPN {
						t.Errorf("WhoAmI as carol in %s = %v", alias, who)
					}
				}
			})
		}
	})
}

func TestPolicyTenantsMatchByAnyName(t *testing.T) {
	// The policy names each tenant by the name it is not configured as.
	policy := `
callers:
  - identity: api-key:soc-bot
    tenants: [` + identity.HomeTenantDomain + `]
    operations: [incidents.read]
  - identity: api-key:onboarding
    tenants: [` + identity.SecondTenantID + `]
    operations: [incidents.read]
`
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := tenantsGateway(t, emu, backend, identity.HomeTenantID,
				"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t), "--policy-file", writeFile(t, "policy.yaml", policy))
			soc := withHeaders(context.Background(), "x-api-key", socKey)
			partnerOnly := withHeaders(context.Background(), "x-api-key", adminKey)
			for _, c := range g.clients(t) {
				t.Run(c.name(), func(t *testing.T) {
					for _, alias := range homeAliases {
						_, err := c.ListIncidents(soc, &defenderv1.ListIncidentsRequest{Parent: "tenants/" + alias, PageSize: 1})
						mustOK(t, err)
						_, err = c.ListIncidents(partnerOnly, &defenderv1.ListIncidentsRequest{Parent: "tenants/" + alias, PageSize: 1})
						wantStatus(t, err, codes.PermissionDenied, "CALLER_TENANT_NOT_ALLOWED")
					}
					for _, alias := range fabrikamAliases {
						_, err := c.ListIncidents(partnerOnly, &defenderv1.ListIncidentsRequest{Parent: "tenants/" + alias, PageSize: 1})
						mustOK(t, err)
						_, err = c.ListIncidents(soc, &defenderv1.ListIncidentsRequest{Parent: "tenants/" + alias, PageSize: 1})
						wantStatus(t, err, codes.PermissionDenied, "CALLER_TENANT_NOT_ALLOWED")
					}
				})
			}
		})
	}
}
