package authctx

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// recordingTokens is a per-call token source that records the caller
// request it saw and answers a token with claims describing it.
type recordingTokens struct {
	calls atomic.Int32
	last  atomic.Pointer[caller.Request]
}

func (r *recordingTokens) Token(ctx context.Context) (string, error) {
	r.calls.Add(1)
	req := caller.FromContext(ctx)
	r.last.Store(req)
	upn := ""
	if req != nil {
		upn = req.Account
		if req.UserToken != nil {
			upn = req.UserToken.UPN
		}
	}
	return unsignedToken(jwt.MapClaims{"upn": upn, "scp": "Incident.Read AdvancedHunting.Read", "exp": time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix()}), nil
}

func unsignedToken(c jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		panic(err)
	}
	return s
}

// fakeAccounts is a fixed set of signed-in accounts.
type fakeAccounts struct {
	tokens   *recordingTokens
	accounts []Account
}

func (f *fakeAccounts) TokenSource(TenantConfig) defender.TokenSource { return f.tokens }
func (f *fakeAccounts) HasAccount(_ context.Context, tenant, upn string) bool {
	for _, a := range f.accounts {
		if strings.EqualFold(a.Tenant, tenant) && strings.EqualFold(a.UPN, upn) {
			return true
		}
	}
	return false
}
func (f *fakeAccounts) List(context.Context) []Account { return f.accounts }

func newUserRegistry(t *testing.T) (*Registry, *countingFactory, *recordingTokens, *recordingTokens) {
	t.Helper()
	factory := &countingFactory{}
	obo, acct := &recordingTokens{}, &recordingTokens{}
	r, err := New(Options{
		App: AppContext{
			Tenant: homeDomain, ClientID: "client-1", Backend: defender.BackendGraph,
			APIURL: "https://graph.microsoft.com/v1.0", AuthorityHost: "https://login.microsoftonline.com",
			Scope: "https://graph.microsoft.com/.default", CredentialKind: "client_secret", Tokens: &countingTokens{},
		},
		Partner: PartnerContext{
			ClientID: "client-1",
			Tenants: []PartnerTenant{{Tenant: "fabrikam.example.com", Backend: defender.BackendXDR, APIURL: "https://api.security.microsoft.com",
				AuthorityHost: "https://login.microsoftonline.com", Scope: "https://api.security.microsoft.com/.default"}},
			NewTokens: func(PartnerTenant) (defender.TokenSource, error) { return &countingTokens{}, nil },
		},
		User: UserContext{
			ClientID: "client-1", CredentialKind: "client_secret",
			NewOnBehalfOf: func(TenantConfig) (defender.TokenSource, error) { return obo, nil },
			Accounts:      &fakeAccounts{tokens: acct, accounts: []Account{{Tenant: strings.ToLower(homeTenantID), UPN: "alice@contoso.com"}}},
		},
		HTTPClient: newFakeDirectory().client(),
		NewBackend: factory.newBackend,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, factory, obo, acct
}

func userToken(upn, served string) *caller.UserToken {
	tid := map[string]string{homeDomain: strings.ToLower(homeTenantID), fabrikamDomain: fabrikamID}[served]
	if tid == "" {
		tid = "00000000-0000-4000-8000-000000000000"
	}
	return &caller.UserToken{Raw: "raw-user-token", Tenant: tid, ServedTenant: served, UPN: upn}
}

func TestResolveSelectsTheContext(t *testing.T) {
	tests := []struct {
		name       string
		tenant     string
		req        *caller.Request
		wantName   string
		wantKind   string
		wantReason string
	}{
		{name: "no caller: app", tenant: "default", wantName: AppContextName, wantKind: KindApp},
		{name: "caller without user: app", tenant: "default", req: &caller.Request{}, wantName: AppContextName, wantKind: KindApp},
		{name: "caller without user: partner", tenant: "FABRIKAM.example.com", req: &caller.Request{}, wantName: partnerNamePrefix + fabrikamID, wantKind: KindPartner},
		{name: "user token in home tenant", tenant: "default", req: &caller.Request{UserToken: userToken("alice@contoso.com", homeDomain)}, wantName: OnBehalfOfContextName, wantKind: KindUser},
		{name: "user token of a partner tenant", tenant: "fabrikam.example.com", req: &caller.Request{UserToken: userToken("carol@fabrikam.example.com", "fabrikam.example.com")}, wantName: OnBehalfOfContextName, wantKind: KindUser},
		{name: "user token of another tenant", tenant: "default", req: &caller.Request{UserToken: userToken("carol@fabrikam.example.com", "fabrikam.example.com")}, wantReason: defender.ReasonUserTenantMismatch},
		{name: "signed-in account", tenant: homeDomain, req: &caller.Request{Account: "ALICE@contoso.com"}, wantName: "contexts/user/accounts/alice@contoso.com", wantKind: KindUser},
		{name: "account not signed in", tenant: "default", req: &caller.Request{Account: "bob@contoso.com"}, wantReason: defender.ReasonAccountNotSignedIn},
		{name: "account in another tenant", tenant: "fabrikam.example.com", req: &caller.Request{Account: "alice@contoso.com"}, wantReason: defender.ReasonAccountNotSignedIn},
		{name: "token and account", tenant: "default", req: &caller.Request{UserToken: userToken("alice@contoso.com", homeDomain), Account: "alice@contoso.com"}, wantReason: defender.ReasonInvalidArgument},
		{name: "tenant not served, with a user", tenant: "adatum.example.com", req: &caller.Request{UserToken: userToken("x@adatum.example.com", "adatum.example.com")}, wantReason: defender.ReasonTenantNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _, _, _ := newUserRegistry(t)
			ctx := context.Background()
			if tt.req != nil {
				ctx = caller.NewContext(ctx, tt.req)
			}
			got, err := r.Resolve(ctx, tt.tenant)
			if tt.wantReason != "" {
				e, ok := defender.AsError(err)
				if !ok || e.Reason != tt.wantReason {
					t.Fatalf("Resolve error = %v, want reason %s", err, tt.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.Context.Name != tt.wantName || got.Context.Kind != tt.wantKind || got.Backend == nil || got.Tokens == nil {
				t.Errorf("Resolve = context %q kind %q (backend %v, tokens %v), want %q %q", got.Context.Name, got.Context.Kind, got.Backend, got.Tokens, tt.wantName, tt.wantKind)
			}
		})
	}
}

func TestUserBackendsAreBuiltOncePerTenantAndReadTheCallerPerCall(t *testing.T) {
	r, factory, obo, _ := newUserRegistry(t)
	built := len(factory.built)
	var first defender.Backend
	for _, upn := range []string{"alice@contoso.com", "bob@contoso.com"} {
		ctx := caller.NewContext(context.Background(), &caller.Request{UserToken: userToken(upn, homeDomain)})
		target, err := r.Resolve(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = target.Backend
		} else if target.Backend != first {
			t.Error("a second user of the tenant got another backend")
		}
		if target.Backend.(*fakeBackend).opts.Tokens != obo {
			t.Error("the user backend does not use the on-behalf-of token source")
		}
		if _, err := target.Tokens.Token(ctx); err != nil {
			t.Fatal(err)
		}
		if got := obo.last.Load().UserToken.UPN; got != upn {
			t.Errorf("token source saw %q, want %q", got, upn)
		}
	}
	if n := len(factory.built) - built; n != 1 {
		t.Errorf("built %d user backends, want 1", n)
	}
}

func TestWhoAmI(t *testing.T) {
	r, _, _, _ := newUserRegistry(t)
	req := &caller.Request{
		Identity:          caller.Identity{Kind: caller.KindAPIKey, Name: "api-key:soc"},
		Account:           "alice@contoso.com",
		AllowedOperations: func(tenant string) []string { return []string{"incidents.read@" + tenant} },
	}
	w, err := r.WhoAmI(caller.NewContext(context.Background(), req), "default")
	if err != nil {
		t.Fatal(err)
	}
	if w.Caller != "api-key:soc" || w.Context.Kind != KindUser || w.Tenant != strings.ToLower(homeTenantID) || w.UpstreamIdentity != "alice@contoso.com" ||
		strings.Join(w.Scopes, " ") != "Incident.Read AdvancedHunting.Read" || w.Expiry.Year() != 2030 ||
		strings.Join(w.AllowedOperations, ",") != "incidents.read@"+strings.ToLower(homeTenantID) {
		t.Errorf("WhoAmI = %+v", w)
	}
}

func TestContextsListUserEntries(t *testing.T) {
	r, _, _, acct := newUserRegistry(t)
	infos := r.CheckContexts(context.Background())
	var names []string
	for _, i := range infos {
		names = append(names, i.Name)
	}
	want := []string{AppContextName, partnerNamePrefix + fabrikamID, OnBehalfOfContextName, "contexts/user/accounts/alice@contoso.com"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("contexts = %v, want %v", names, want)
	}
	obo, account := infos[2], infos[3]
	if obo.TokenStatus != TokenUnchecked || obo.Kind != KindUser {
		t.Errorf("on-behalf-of entry = %+v, want unchecked user context", obo)
	}
	if account.TokenStatus != TokenAvailable || account.Account != "alice@contoso.com" || account.CredentialKind != CredentialUserSignIn || account.Tenant != strings.ToLower(homeTenantID) {
		t.Errorf("account entry = %+v", account)
	}
	if got := acct.last.Load(); got == nil || got.Account != "alice@contoso.com" {
		t.Errorf("the account check asked for %+v, want alice", got)
	}
}
