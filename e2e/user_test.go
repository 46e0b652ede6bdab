package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/app"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// forEachUser runs fn for every backend and transport on a gateway with
// caller auth none whose partner allow-list holds fabrikam, so that both a
// home user and a customer's user can act through it.
func forEachUser(t *testing.T, fn func(t *testing.T, g *gateway, c client)) {
	t.Helper()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, partnerConfig(t, emu, backend, "--partner-tenants", identity.SecondTenantDomain))
			for _, c := range g.clients(t) {
				t.Run(c.name(), func(t *testing.T) { fn(t, g, c) })
			}
		})
	}
}

// userToken mints a user token for the gateway's app, as the emulator's
// Entra ID would issue it to a client app the user signed in to.
func userToken(t *testing.T, emu *emulator.Emulator, spec emulator.UserTokenSpec) string {
	t.Helper()
	tok, err := emu.UserToken(spec)
	if err != nil {
		t.Fatalf("mint user token: %v", err)
	}
	return tok
}

// asUser is ctx presenting a user token for on-behalf-of.
func asUser(ctx context.Context, token string) context.Context {
	return withHeaders(ctx, "authorization", "Bearer "+token)
}

func TestOnBehalfOfSeesOnlyWhatTheUserMay(t *testing.T) {
	forEachUser(t, func(t *testing.T, g *gateway, c client) {
		alice := asUser(context.Background(), userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.AliceUPN}))
		asApp := listAll(t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 100)
		asAlice := listAllIn(alice, t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 50)
		if len(asApp) != 240 || len(asAlice) == 0 || len(asAlice) > len(asApp)*2/3 {
			t.Fatalf("the app sees %d incidents and alice %d, want 240 and about half", len(asApp), len(asAlice))
		}
		wantUserView(t, asApp, func(id int) bool { return id%2 == 0 }, asAlice)
		// An incident outside her scope does not exist for her; it does for the app.
		var hidden string
		for _, in := range asApp {
			if id, _ := strconv.Atoi(in.GetId()); id%2 != 0 {
				hidden = in.GetName()
				break
			}
		}
		_, err := c.GetIncident(alice, &defenderv1.GetIncidentRequest{Name: hidden})
		wantStatus(t, err, codes.NotFound, "")
		if _, err := c.GetIncident(context.Background(), &defenderv1.GetIncidentRequest{Name: hidden}); err != nil {
			t.Errorf("the app context cannot get %s: %v", hidden, err)
		}
		// Her writes are hers.
		updated, err := c.UpdateIncident(alice, &defenderv1.UpdateIncidentRequest{
			Incident: &defenderv1.Incident{Name: asAlice[0].GetName(), AssignedTo: identity.AliceUPN}, UpdateMask: mask("assigned_to")})
		if err != nil || updated.GetAssignedTo() != identity.AliceUPN {
			t.Errorf("alice's update = %v, %v", updated.GetAssignedTo(), err)
		}
	})
}

func TestOnBehalfOfEnforcesTheUsersRights(t *testing.T) {
	forEachUser(t, func(t *testing.T, g *gateway, c client) {
		bob := asUser(context.Background(), userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.BobUPN}))
		page, err := c.ListIncidents(bob, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1})
		if err != nil || len(page.GetIncidents()) != 1 {
			t.Fatalf("bob cannot list: %v", err)
		}
		name := page.GetIncidents()[0].GetName()
		if _, err := c.GetIncident(bob, &defenderv1.GetIncidentRequest{Name: name}); err != nil {
			t.Fatalf("bob cannot read an incident in his scope: %v", err)
		}
		_, err = c.UpdateIncident(bob, &defenderv1.UpdateIncidentRequest{
			Incident: &defenderv1.Incident{Name: name, AssignedTo: identity.BobUPN}, UpdateMask: mask("assigned_to")})
		wantStatus(t, err, codes.PermissionDenied, "UPSTREAM_PERMISSION_DENIED")
		_, err = c.RunQuery(bob, &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo | take 1"})
		wantStatus(t, err, codes.PermissionDenied, "UPSTREAM_PERMISSION_DENIED")
	})
}

func TestOnBehalfOfInACustomerTenant(t *testing.T) {
	forEachUser(t, func(t *testing.T, g *gateway, c client) {
		carol := asUser(context.Background(), userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.CarolUPN}))
		got := listAllIn(carol, t, c, &defenderv1.ListIncidentsRequest{Parent: "tenants/" + identity.SecondTenantDomain}, 50)
		all := listAll(t, c, &defenderv1.ListIncidentsRequest{Parent: "tenants/" + identity.SecondTenantDomain}, 100)
		wantUserView(t, all, func(id int) bool { return id%2 != 0 }, got)
		// A user acts only in their own tenant.
		g.emu.ResetRequests()
		_, err := c.ListIncidents(carol, &defenderv1.ListIncidentsRequest{Parent: home})
		wantStatus(t, err, codes.PermissionDenied, "USER_TENANT_MISMATCH")
		if reqs := g.emu.Requests(); len(reqs) != 0 {
			t.Errorf("a refused user call reached the emulator: %+v", reqs)
		}
	})
}

func TestWhoAmI(t *testing.T) {
	forEachUser(t, func(t *testing.T, g *gateway, c client) {
		scope := identity.GraphIncidentReadWrite
		if g.backend == "xdr" {
			scope = identity.XDRDelegatedIncidentReadWrite
		}
		app, err := c.WhoAmI(context.Background(), &defenderv1.WhoAmIRequest{Tenant: home})
		mustOK(t, err)
		if app.GetCaller() != "anonymous" || app.GetContext() != "contexts/app" || app.GetContextKind() != defenderv1.ContextKind_CONTEXT_KIND_APP ||
			app.GetTenant() != identity.HomeTenantID || app.GetUpstreamIdentity() != identity.ClientID || len(app.GetRoles()) == 0 || len(app.GetScopes()) != 0 {
			t.Errorf("WhoAmI as the app = %v", app)
		}
		alice := asUser(context.Background(), userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.AliceUPN}))
		user, err := c.WhoAmI(alice, &defenderv1.WhoAmIRequest{Tenant: home})
		mustOK(t, err)
		if user.GetContext() != "contexts/user/on-behalf-of" || user.GetContextKind() != defenderv1.ContextKind_CONTEXT_KIND_USER ||
			user.GetUpstreamIdentity() != identity.AliceUPN || !slices.Contains(user.GetScopes(), scope) || len(user.GetRoles()) != 0 {
			t.Errorf("WhoAmI as alice = %v, want on-behalf-of with scope %s", user, scope)
		}
		if exp := user.GetTokenExpireTime().AsTime(); !exp.After(time.Now()) {
			t.Errorf("token expiry %v is not in the future", exp)
		}
		partner, err := c.WhoAmI(context.Background(), &defenderv1.WhoAmIRequest{Tenant: "tenants/" + identity.SecondTenantDomain})
		mustOK(t, err)
		if partner.GetContext() != "contexts/partner/tenants/"+identity.SecondTenantID || partner.GetTenant() != identity.SecondTenantID || partner.GetContextKind() != defenderv1.ContextKind_CONTEXT_KIND_PARTNER {
			t.Errorf("WhoAmI in fabrikam = %v", partner)
		}
	})
}

// mask is a field mask of paths.
func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// callerAppToken gets an app token for the gateway's API the way a calling
// daemon would: client credentials of the emulator's caller app.
func callerAppToken(t *testing.T, emu *emulator.Emulator) string {
	t.Helper()
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {identity.CallerClientID},
		"client_secret": {identity.CallerClientSecret},
		"scope":         {identity.GatewayResource + "/.default"},
	}
	resp, err := emu.HTTPClient().PostForm(emu.AuthorityHost()+"/"+identity.HomeTenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("caller app token: HTTP %d, %v", resp.StatusCode, err)
	}
	return body.AccessToken
}

// upstreamCalls are the emulator requests a call made beyond reading the
// authority's public keys: token requests and API calls.
func upstreamCalls(emu *emulator.Emulator) []emulator.Request {
	var out []emulator.Request
	for _, r := range emu.Requests() {
		if r.API != emulator.APIEntra || strings.HasSuffix(r.Path, "/token") {
			out = append(out, r)
		}
	}
	return out
}

func TestUserTokensThatFailValidation(t *testing.T) {
	forEachUser(t, func(t *testing.T, g *gateway, c client) {
		now := time.Now()
		tests := []struct {
			name  string
			token func() string
			check string
		}{
			{"forged signature", func() string {
				return userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.AliceUPN, Forged: true})
			}, "signature"},
			{"expired", func() string {
				return userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.AliceUPN, IssuedAt: now.Add(-3 * time.Hour), NotBefore: now.Add(-3 * time.Hour), ExpiresAt: now.Add(-2 * time.Hour)})
			}, "expired"},
			{"not yet valid", func() string {
				return userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.AliceUPN, NotBefore: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)})
			}, "not_before"},
			{"for another API", func() string {
				return userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.AliceUPN, Audience: identity.GraphResource})
			}, "audience"},
			{"from another issuer", func() string {
				return userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.AliceUPN, Issuer: "https://login.example.net/" + identity.HomeTenantID + "/v2.0"})
			}, "issuer"},
			{"of a tenant the gateway does not serve", func() string {
				return userToken(t, g.emu, emulator.UserTokenSpec{UPN: identity.AliceUPN, Tenant: identity.ThirdTenantID})
			}, "tenant"},
			{"not a JWT", func() string { return "not-a-token" }, "malformed"},
			{"an app token", func() string { return callerAppToken(t, g.emu) }, "user"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				token := tt.token()
				g.emu.ResetRequests()
				_, err := c.ListIncidents(asUser(context.Background(), token), &defenderv1.ListIncidentsRequest{Parent: home})
				st := wantStatus(t, err, codes.Unauthenticated, "TOKEN_INVALID", tt.check)
				if got := errorInfo(st).GetMetadata()["check"]; got != tt.check {
					t.Errorf("ErrorInfo check = %q, want %q", got, tt.check)
				}
				if strings.Contains(st.Message(), token) {
					t.Error("the status message repeats the token")
				}
				if calls := upstreamCalls(g.emu); len(calls) != 0 {
					t.Errorf("a call with a rejected token reached Entra or the API: %+v", calls)
				}
			})
		}
	})
}

// deviceLogin starts a device-code sign-in in tenant and returns it.
func deviceLogin(t *testing.T, c client, tenant string) *defenderv1.DeviceLogin {
	t.Helper()
	dl, err := c.StartDeviceLogin(context.Background(), &defenderv1.StartDeviceLoginRequest{Tenant: tenant})
	mustOK(t, err)
	if dl.GetState() != defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_PENDING || dl.GetUserCode() == "" ||
		!strings.HasSuffix(dl.GetVerificationUri(), "/devicelogin") || dl.GetExpireTime() == nil || !strings.HasPrefix(dl.GetName(), "tenants/") {
		t.Fatalf("StartDeviceLogin = %v", dl)
	}
	return dl
}

// waitDeviceLogin polls a sign-in until it leaves PENDING.
func waitDeviceLogin(t *testing.T, c client, name string) *defenderv1.DeviceLogin {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		dl, err := c.GetDeviceLogin(context.Background(), &defenderv1.GetDeviceLoginRequest{Name: name})
		mustOK(t, err)
		if dl.GetState() != defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_PENDING {
			return dl
		}
		if time.Now().After(deadline) {
			t.Fatalf("device login %s still pending after 20s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// forEachFreshUser is forEachUser with a fresh emulator and gateway per
// transport too, for cases whose sign-ins must not carry over.
func forEachFreshUser(t *testing.T, fn func(t *testing.T, g *gateway, c client)) {
	t.Helper()
	for _, backend := range backends {
		for i, transport := range []string{"grpc", "rest"} {
			t.Run(backend+"/"+transport, func(t *testing.T) {
				emu := startEmulator(t)
				g := startGateway(t, emu, partnerConfig(t, emu, backend, "--partner-tenants", identity.SecondTenantDomain))
				fn(t, g, g.clients(t)[i])
			})
		}
	}
}

func TestDeviceCodeSignIn(t *testing.T) {
	forEachFreshUser(t, func(t *testing.T, g *gateway, c client) {
		entra := g.emu.Entra()
		dl := deviceLogin(t, c, home)
		if dl.GetName() != "tenants/"+identity.HomeTenantID+"/deviceLogins/"+dl.GetName()[strings.LastIndex(dl.GetName(), "/")+1:] {
			t.Errorf("name %q is not under the canonical home tenant", dl.GetName())
		}
		if again, err := c.GetDeviceLogin(context.Background(), &defenderv1.GetDeviceLoginRequest{Name: dl.GetName()}); err != nil ||
			again.GetState() != defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_PENDING {
			t.Fatalf("GetDeviceLogin before sign-in = %v, %v", again, err)
		}
		// Before the sign-in completes, the account cannot be used.
		asAlice := withHeaders(context.Background(), "x-defender-account", identity.AliceUPN)
		_, err := c.ListIncidents(asAlice, &defenderv1.ListIncidentsRequest{Parent: home})
		wantStatus(t, err, codes.FailedPrecondition, "ACCOUNT_NOT_SIGNED_IN")

		if err := entra.ApproveDeviceCode(dl.GetUserCode(), identity.AliceUPN); err != nil {
			t.Fatal(err)
		}
		done := waitDeviceLogin(t, c, dl.GetName())
		if done.GetState() != defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_COMPLETED || !strings.EqualFold(done.GetAccount(), identity.AliceUPN) {
			t.Fatalf("after approval: %v", done)
		}
		wantAliceView(t, context.Background(), c, listAllIn(asAlice, t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 100))
		who, err := c.WhoAmI(asAlice, &defenderv1.WhoAmIRequest{Tenant: home})
		mustOK(t, err)
		if who.GetContext() != "contexts/user/accounts/"+strings.ToLower(identity.AliceUPN) || who.GetUpstreamIdentity() != identity.AliceUPN {
			t.Errorf("WhoAmI as the signed-in alice = %v", who)
		}
		ctxs, err := c.ListContexts(context.Background(), &defenderv1.ListContextsRequest{})
		mustOK(t, err)
		var found bool
		for _, ac := range ctxs.GetContexts() {
			if ac.GetName() == who.GetContext() {
				found = true
				if ac.GetTokenStatus() != defenderv1.TokenStatus_TOKEN_STATUS_AVAILABLE || ac.GetCredentialKind() != defenderv1.CredentialKind_CREDENTIAL_KIND_USER_SIGN_IN {
					t.Errorf("account context = %v", ac)
				}
			}
		}
		if !found {
			t.Errorf("ListContexts does not list %s: %v", who.GetContext(), ctxs)
		}
		// Another account of the tenant is still not signed in.
		_, err = c.ListIncidents(withHeaders(context.Background(), "x-defender-account", identity.BobUPN), &defenderv1.ListIncidentsRequest{Parent: home})
		wantStatus(t, err, codes.FailedPrecondition, "ACCOUNT_NOT_SIGNED_IN")
	})
}

func TestDeviceCodeSignInDeclinedOrExpired(t *testing.T) {
	forEachUser(t, func(t *testing.T, g *gateway, c client) {
		entra := g.emu.Entra()
		declined := deviceLogin(t, c, home)
		if err := entra.DeclineDeviceCode(declined.GetUserCode()); err != nil {
			t.Fatal(err)
		}
		if got := waitDeviceLogin(t, c, declined.GetName()); got.GetState() != defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_FAILED || got.GetErrorDetail() == "" {
			t.Errorf("declined sign-in = %v, want FAILED with a detail", got)
		}
		expired := deviceLogin(t, c, "tenants/"+identity.SecondTenantDomain)
		if err := entra.ExpireDeviceCode(expired.GetUserCode()); err != nil {
			t.Fatal(err)
		}
		if got := waitDeviceLogin(t, c, expired.GetName()); got.GetState() != defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_EXPIRED {
			t.Errorf("expired sign-in = %v, want EXPIRED", got)
		}
		_, err := c.GetDeviceLogin(context.Background(), &defenderv1.GetDeviceLoginRequest{Name: home + "/deviceLogins/doesnotexist"})
		wantStatus(t, err, codes.NotFound, "DEVICE_LOGIN_NOT_FOUND")
		_, err = c.StartDeviceLogin(context.Background(), &defenderv1.StartDeviceLoginRequest{Tenant: "tenants/adatum.example.com"})
		wantStatus(t, err, codes.PermissionDenied, "TENANT_NOT_ALLOWED")
	})
}

func TestSignedInAccountsSurviveARestartWithTheEncryptedCache(t *testing.T) {
	emu := startEmulator(t)
	cacheFile := filepath.Join(t.TempDir(), "users.cache")
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	cfg := func(key string) *config.Config {
		return partnerConfig(t, emu, "graph", "--user-cache-file", cacheFile, "--user-cache-key", key)
	}
	first := startGateway(t, emu, cfg(key))
	c := first.clients(t)[0]
	dl := deviceLogin(t, c, home)
	if err := emu.Entra().ApproveDeviceCode(dl.GetUserCode(), identity.AliceUPN); err != nil {
		t.Fatal(err)
	}
	if got := waitDeviceLogin(t, c, dl.GetName()); got.GetState() != defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_COMPLETED {
		t.Fatalf("sign-in = %v", got)
	}
	first.stopAndWait(t)

	data, err := os.ReadFile(cacheFile)
	if err != nil {
		t.Fatalf("the cache was not persisted: %v", err)
	}
	for _, plain := range []string{"refresh_token", "RefreshToken", identity.AliceUPN, "secret"} {
		if bytes.Contains(data, []byte(plain)) {
			t.Errorf("the cache file holds %q in plain text", plain)
		}
	}
	if info, err := os.Stat(cacheFile); err == nil && info.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode = %v, want 0600", info.Mode().Perm())
	}

	// A wrong key is refused at start, not silently ignored.
	wrong := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32))
	if gw, err := app.Build(cfg(wrong), app.Dependencies{HTTPClient: emu.HTTPClient()}); err == nil {
		gw.Close()
		t.Error("a gateway started with the wrong cache key")
	}

	second := startGateway(t, emu, cfg(key))
	asAlice := withHeaders(context.Background(), "x-defender-account", identity.AliceUPN)
	for _, c := range second.clients(t) {
		wantAliceView(t, context.Background(), c, listAllIn(asAlice, t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 100))
	}
}

// wantAliceView checks that got is exactly alice's view of the home
// tenant: the even ids of everything the app context (called with asApp's
// credentials) lists.
func wantAliceView(t *testing.T, asApp context.Context, c client, got []*defenderv1.Incident) {
	t.Helper()
	all := listAllIn(asApp, t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 100)
	wantUserView(t, all, func(id int) bool { return id%2 == 0 }, got)
}

// wantUserView checks that a user was shown exactly the incidents of all
// (the app's view) that the user's scope sees: the emulator's users see
// incidents by id (docs/emulator.md); the ids themselves depend on the
// emulator's start time.
func wantUserView(t *testing.T, all []*defenderv1.Incident, sees func(id int) bool, got []*defenderv1.Incident) {
	t.Helper()
	want := map[string]bool{}
	for _, in := range all {
		if id, _ := strconv.Atoi(in.GetId()); sees(id) {
			want[in.GetName()] = true
		}
	}
	shown := map[string]bool{}
	for _, in := range got {
		shown[in.GetName()] = true
		if !want[in.GetName()] {
			t.Errorf("the user was shown %s, outside their scope", in.GetName())
		}
	}
	for name := range want {
		if !shown[name] {
			t.Errorf("the user was not shown %s, in their scope", name)
		}
	}
}
