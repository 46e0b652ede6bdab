package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// consentRedirect is the consent redirect URI of the partner gateways.
const consentRedirect = "http://localhost:8400/consent-done"

// partnerConfig is sandboxConfig plus partner settings given as flags, the
// way an operator would (extra, e.g. "--partner-tenants", "...").
func partnerConfig(t *testing.T, emu *emulator.Emulator, backend string, extra ...string) *config.Config {
	t.Helper()
	return appConfig(t, emu, backend, identity.ClientID, identity.ClientSecret, extra...)
}

// writeFile writes content to a file in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// forEachPartner runs fn for every backend and transport on a gateway
// whose partner allow-list holds fabrikam (by GUID, consented) and
// northwind (by domain, not consented).
func forEachPartner(t *testing.T, fn func(t *testing.T, g *gateway, c client)) {
	t.Helper()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, partnerConfig(t, emu, backend,
				"--partner-tenants", identity.SecondTenantID+"=Fabrikam,"+identity.ThirdTenantDomain+"=Northwind",
				"--consent-redirect-uri", consentRedirect))
			for _, c := range g.clients(t) {
				t.Run(c.name(), func(t *testing.T) { fn(t, g, c) })
			}
		})
	}
}

// wantPartnerIncidents lists parent and expects fabrikam's data (ids from
// 5000) named under wantTenant.
func wantPartnerIncidents(t *testing.T, c client, parent, wantTenant string) {
	t.Helper()
	resp, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: parent, PageSize: 5})
	if err != nil {
		t.Fatalf("ListIncidents(%s): %v", parent, err)
	}
	if len(resp.GetIncidents()) == 0 {
		t.Fatalf("ListIncidents(%s) returned no incidents", parent)
	}
	for _, in := range resp.GetIncidents() {
		if id, err := strconv.Atoi(in.GetId()); err != nil || id < 5000 {
			t.Errorf("incident id %q is not fabrikam's (from 5000)", in.GetId())
		}
		if want := "tenants/" + wantTenant + "/incidents/" + in.GetId(); in.GetName() != want {
			t.Errorf("name = %q, want %q", in.GetName(), want)
		}
	}
}

func TestPartnerTenantIncidentsByGUID(t *testing.T) {
	forEachPartner(t, func(t *testing.T, g *gateway, c client) {
		entra := g.emu.Entra()
		before := entra.TokenRequestsFor(identity.SecondTenantID, identity.ClientID)
		// Upper case: tenants match case-insensitively.
		wantPartnerIncidents(t, c, "tenants/"+strings.ToUpper(identity.SecondTenantID), identity.SecondTenantID)
		wantPartnerIncidents(t, c, "tenants/"+identity.SecondTenantID, identity.SecondTenantID)
		after := entra.TokenRequestsFor(identity.SecondTenantID, identity.ClientID)
		if c.name() == "grpc" && after-before != 1 {
			t.Errorf("fabrikam token requests = %d, want 1 (one token, then the cache)", after-before)
		}
		if c.name() == "rest" && after != 1 {
			t.Errorf("fabrikam token requests = %d after both transports, want 1", after)
		}
		// The home tenant has its own token and data.
		homeBefore := entra.TokenRequestsFor(identity.HomeTenantID, identity.ClientID)
		resp, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range resp.GetIncidents() {
			if id, _ := strconv.Atoi(in.GetId()); id >= 5000 {
				t.Errorf("home incident %s is in fabrikam's range", in.GetId())
			}
		}
		if c.name() == "grpc" && entra.TokenRequestsFor(identity.HomeTenantID, identity.ClientID)-homeBefore != 1 {
			t.Errorf("home token requests = %d, want 1", entra.TokenRequestsFor(identity.HomeTenantID, identity.ClientID)-homeBefore)
		}
		if got := entra.TokenRequestsFor(identity.SecondTenantID, identity.ClientID); got != 1 {
			t.Errorf("fabrikam token requests = %d after a home call, want still 1", got)
		}
	})
}

func TestPartnerTenantByDomainWithBackendOverride(t *testing.T) {
	// Home on graph; fabrikam, named by domain in the file, on xdr.
	emu := startEmulator(t)
	file := writeFile(t, "partners.yaml", `
- tenant: `+identity.SecondTenantDomain+`
  display_name: Fabrikam Ltd
  backend: xdr
  api_url: `+emu.XDRURL()+`
  scope: `+identity.XDRResource+`/.default
`)
	g := startGateway(t, emu, partnerConfig(t, emu, "graph", "--partner-tenants-file", file))
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			emu.ResetRequests()
			// Named by domain, answered under the tenant id.
			wantPartnerIncidents(t, c, "tenants/FABRIKAM.onmicrosoft.com", identity.SecondTenantID)
			if _, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1}); err != nil {
				t.Fatal(err)
			}
			apis := map[string]string{}
			for _, r := range emu.Requests() {
				if r.API != emulator.APIEntra {
					apis[r.TenantID] = r.API
				}
			}
			if apis[identity.SecondTenantID] != emulator.APIXDR || apis[identity.HomeTenantID] != emulator.APIGraph {
				t.Errorf("API per tenant = %v, want fabrikam on xdr and home on graph", apis)
			}
		})
	}
	if got := emu.Entra().TokenRequestsFor(identity.SecondTenantID, identity.ClientID); got != 1 {
		t.Errorf("fabrikam token requests = %d, want 1", got)
	}
}

func TestPartnerTenantWithoutConsent(t *testing.T) {
	forEachPartner(t, func(t *testing.T, g *gateway, c client) {
		g.emu.ResetRequests()
		_, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/" + identity.ThirdTenantDomain})
		st := wantStatus(t, err, codes.FailedPrecondition, "CONSENT_REQUIRED", identity.ThirdTenantDomain, "AADSTS65001")
		wantURL := g.emu.AuthorityHost() + "/" + identity.ThirdTenantDomain + "/adminconsent?" + url.Values{
			"client_id": {identity.ClientID}, "redirect_uri": {consentRedirect}}.Encode()
		if got := errorInfo(st).GetMetadata()["consent_url"]; got != wantURL {
			t.Errorf("ErrorInfo consent_url = %q, want %q", got, wantURL)
		}
		if got := helpURLs(st); len(got) != 1 || got[0] != wantURL {
			t.Errorf("Help links = %v, want [%s]", got, wantURL)
		}
		for _, r := range g.emu.Requests() {
			if r.API != emulator.APIEntra {
				t.Errorf("a request reached the API without a token: %+v", r)
			}
		}
	})
}

func TestPartnerTenantNotAllowed(t *testing.T) {
	forEachPartner(t, func(t *testing.T, g *gateway, c client) {
		for _, tenant := range []string{"unknown.example.com", "0f0f0f0f-1111-4222-8333-444455556666", "common"} {
			g.emu.ResetRequests()
			_, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/" + tenant})
			if tenant == "common" {
				// Not a GUID or domain: refused before resolution.
				wantStatus(t, err, codes.InvalidArgument, "")
			} else {
				wantStatus(t, err, codes.PermissionDenied, "TENANT_NOT_ALLOWED")
			}
			// Only discovery documents may be read (to learn tenant ids):
			// no token request, no API request.
			for _, r := range g.emu.Requests() {
				if r.API != emulator.APIEntra || r.Method != http.MethodGet || !strings.HasSuffix(r.Path, "/v2.0/.well-known/openid-configuration") {
					t.Errorf("%s: a request reached the emulator: %+v", tenant, r)
				}
			}
		}
	})
}

func TestGetConsentUrl(t *testing.T) {
	forEachPartner(t, func(t *testing.T, g *gateway, c client) {
		ctx := context.Background()
		got, err := c.GetConsentUrl(ctx, &defenderv1.GetConsentUrlRequest{Tenant: "tenants/NORTHWIND.onmicrosoft.com", State: "s-42"})
		if err != nil {
			t.Fatal(err)
		}
		want := g.emu.AuthorityHost() + "/" + identity.ThirdTenantDomain + "/adminconsent?" + url.Values{
			"client_id": {identity.ClientID}, "redirect_uri": {consentRedirect}, "state": {"s-42"}}.Encode()
		if got.GetConsentUrl() != want || got.GetRedirectUri() != consentRedirect {
			t.Errorf("GetConsentUrl = %q, %q; want %q, %q", got.GetConsentUrl(), got.GetRedirectUri(), want, consentRedirect)
		}
		for _, tenant := range []string{"tenants/unknown.example.com", "tenants/default", "tenants/" + identity.HomeTenantID} {
			_, err = c.GetConsentUrl(ctx, &defenderv1.GetConsentUrlRequest{Tenant: tenant})
			wantStatus(t, err, codes.PermissionDenied, "TENANT_NOT_ALLOWED")
		}
	})
	t.Run("no redirect URI", func(t *testing.T) {
		emu := startEmulator(t)
		g := startGateway(t, emu, partnerConfig(t, emu, "graph", "--partner-tenants", identity.ThirdTenantDomain))
		for _, c := range g.clients(t) {
			_, err := c.GetConsentUrl(context.Background(), &defenderv1.GetConsentUrlRequest{Tenant: "tenants/" + identity.ThirdTenantDomain})
			wantStatus(t, err, codes.FailedPrecondition, "NOT_CONFIGURED", "DEFENDER_CONSENT_REDIRECT_URI")
			// The consent error of a call still carries a URL, without redirect_uri.
			_, err = c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/" + identity.ThirdTenantDomain})
			st := wantStatus(t, err, codes.FailedPrecondition, "CONSENT_REQUIRED")
			if u := errorInfo(st).GetMetadata()["consent_url"]; !strings.HasSuffix(u, "/adminconsent?client_id="+identity.ClientID) {
				t.Errorf("consent_url = %q, want no redirect_uri", u)
			}
		}
	})
}

func TestListContextsWithPartnerTenants(t *testing.T) {
	forEachPartner(t, func(t *testing.T, g *gateway, c client) {
		resp, err := c.ListContexts(context.Background(), &defenderv1.ListContextsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]*defenderv1.AuthContext{}
		var order []string
		for _, ac := range resp.GetContexts() {
			byName[ac.GetName()] = ac
			order = append(order, ac.GetName())
		}
		// Partners are named by tenant id, however they are configured.
		wantOrder := []string{"contexts/app", "contexts/partner/tenants/" + identity.SecondTenantID, "contexts/partner/tenants/" + identity.ThirdTenantID,
			"contexts/user/on-behalf-of"}
		if strings.Join(order, " ") != strings.Join(wantOrder, " ") {
			t.Fatalf("contexts = %v, want %v", order, wantOrder)
		}
		for name, want := range map[string]defenderv1.TokenStatus{
			wantOrder[0]: defenderv1.TokenStatus_TOKEN_STATUS_AVAILABLE,
			wantOrder[1]: defenderv1.TokenStatus_TOKEN_STATUS_AVAILABLE,
			wantOrder[2]: defenderv1.TokenStatus_TOKEN_STATUS_CONSENT_REQUIRED,
		} {
			ac := byName[name]
			if ac.GetTokenStatus() != want || ac.GetTokenCheckTime() == nil {
				t.Errorf("%s: token_status %v (checked %v), want %v", name, ac.GetTokenStatus(), ac.GetTokenCheckTime(), want)
			}
		}
		fabrikam, northwind := byName[wantOrder[1]], byName[wantOrder[2]]
		if fabrikam.GetKind() != defenderv1.ContextKind_CONTEXT_KIND_PARTNER || fabrikam.GetDisplayName() != "Fabrikam" ||
			fabrikam.GetTenant() != identity.SecondTenantID || fabrikam.GetClientId() != identity.ClientID {
			t.Errorf("fabrikam context = %v", fabrikam)
		}
		if !strings.Contains(northwind.GetTokenStatusDetail(), "AADSTS65001") {
			t.Errorf("northwind detail = %q, want AADSTS65001", northwind.GetTokenStatusDetail())
		}
		// The status is cached: the second transport's listing (and this
		// one's second call) asks Entra nothing more for northwind.
		if _, err := c.ListContexts(context.Background(), &defenderv1.ListContextsRequest{}); err != nil {
			t.Fatal(err)
		}
		if got := g.emu.Entra().TokenRequestsFor(identity.ThirdTenantID, identity.ClientID); got != 1 {
			t.Errorf("northwind token requests = %d, want 1 (cached status)", got)
		}
	})
}

// helpURLs returns the URLs of a status's Help detail.
func helpURLs(st *status.Status) []string {
	var urls []string
	for _, d := range st.Details() {
		if h, ok := d.(*errdetails.Help); ok {
			for _, l := range h.GetLinks() {
				urls = append(urls, l.GetUrl())
			}
		}
	}
	return urls
}
