package authctx

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// scriptedTokens answers with err (nil: a token) and counts calls.
type scriptedTokens struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (s *scriptedTokens) Token(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return "", s.err
	}
	return "token", nil
}

type partnerFixture struct {
	reg     *Registry
	factory *countingFactory
	built   map[string]*scriptedTokens // by tenant as configured
	now     time.Time
}

func newPartnerFixture(t *testing.T, redirect string, errs map[string]error) *partnerFixture {
	t.Helper()
	f := &partnerFixture{factory: &countingFactory{}, built: map[string]*scriptedTokens{}, now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	r, err := New(Options{
		App: AppContext{Tenant: homeTenantID, ClientID: "client-1", Backend: defender.BackendGraph, APIURL: "https://graph.example",
			Tokens: &countingTokens{}},
		Partner: PartnerContext{
			ClientID: "client-1",
			Tenants: []PartnerTenant{
				{Tenant: "fabrikam.example.com", DisplayName: "Fabrikam", Backend: defender.BackendXDR, APIURL: "https://xdr.example", AuthorityHost: "https://login.example"},
				{Tenant: "7c9d1e3f-2a4b-4c5d-8e6f-0a1b2c3d4e5f", Backend: defender.BackendGraph, APIURL: "https://graph.example", AuthorityHost: "https://login.example/"},
			},
			ConsentRedirectURI: redirect,
			NewTokens: func(p PartnerTenant) (defender.TokenSource, error) {
				mu.Lock()
				defer mu.Unlock()
				if f.built[p.Tenant] != nil {
					t.Errorf("token source of %s built twice", p.Tenant)
				}
				s := &scriptedTokens{err: errs[p.Tenant]}
				f.built[p.Tenant] = s
				return s, nil
			},
		},
		HTTPClient: newFakeDirectory().client(),
		// Partner backends are built concurrently by CheckContexts.
		NewBackend: func(kind defender.BackendKind, opts defender.ClientOptions) (defender.Backend, error) {
			mu.Lock()
			defer mu.Unlock()
			return f.factory.newBackend(kind, opts)
		},
		Now: func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.reg = r
	return f
}

func TestPartnerResolveIsCaseInsensitiveAndLazy(t *testing.T) {
	f := newPartnerFixture(t, "", nil)
	if len(f.factory.built) != 1 || len(f.built) != 0 {
		t.Fatalf("at start: %d backends, %d partner token sources; want only the app's backend", len(f.factory.built), len(f.built))
	}
	tests := []struct {
		tenant, wantTenant string
		wantKind           defender.BackendKind
	}{
		{"FABRIKAM.example.com", fabrikamID, defender.BackendXDR},
		{"fabrikam.example.com", fabrikamID, defender.BackendXDR},
		{strings.ToUpper(fabrikamID), fabrikamID, defender.BackendXDR},
		{"7C9D1E3F-2A4B-4C5D-8E6F-0A1B2C3D4E5F", "7c9d1e3f-2a4b-4c5d-8e6f-0a1b2c3d4e5f", defender.BackendGraph},
	}
	for _, tt := range tests {
		target, err := f.reg.Resolve(context.Background(), tt.tenant)
		if err != nil {
			t.Fatalf("Resolve(%s): %v", tt.tenant, err)
		}
		if target.Tenant != tt.wantTenant || target.Backend.Kind() != tt.wantKind || target.Context.Kind != KindPartner ||
			target.Context.Name != partnerNamePrefix+tt.wantTenant {
			t.Errorf("Resolve(%s) = %+v", tt.tenant, target)
		}
	}
	// One backend and token source per tenant, built on first use only.
	if len(f.factory.built) != 3 || len(f.built) != 2 {
		t.Errorf("%d backends and %d partner token sources, want 3 and 2", len(f.factory.built), len(f.built))
	}
	if got := f.factory.built[1].opts.BaseURL; got != "https://xdr.example" {
		t.Errorf("fabrikam backend URL = %q", got)
	}
}

func TestPartnerNotAllowedMakesNoTokenRequest(t *testing.T) {
	f := newPartnerFixture(t, "", nil)
	// Unknown to the authority; a tenant that exists but is not served; a
	// prefix of a served domain; an unserved GUID.
	for _, tenant := range []string{"other.example.com", "northwind.example", "fabrikam.example", "99999999-8888-4777-8666-555555555555"} {
		_, err := f.reg.Resolve(context.Background(), tenant)
		e, ok := defender.AsError(err)
		if !ok || e.Kind != defender.KindPermissionDenied || e.Reason != defender.ReasonTenantNotAllowed {
			t.Errorf("Resolve(%s) = %v, want TENANT_NOT_ALLOWED", tenant, err)
		}
	}
	if len(f.built) != 0 {
		t.Errorf("%d token sources were built for refused tenants", len(f.built))
	}
}

func TestPartnerConsentErrorCarriesConsentURL(t *testing.T) {
	consent := defender.Errorf(defender.KindFailedPrecondition, defender.ReasonConsentRequired, "no consent")
	f := newPartnerFixture(t, "https://gw.example/cb", map[string]error{"fabrikam.example.com": consent})
	target, err := f.reg.Resolve(context.Background(), "fabrikam.example.com")
	if err != nil {
		t.Fatal(err)
	}
	tokens := target.Backend.(*fakeBackend).opts.Tokens
	_, err = tokens.Token(context.Background())
	e, ok := defender.AsError(err)
	if !ok || e.Reason != defender.ReasonConsentRequired {
		t.Fatalf("Token() = %v, want CONSENT_REQUIRED", err)
	}
	want := "https://login.example/fabrikam.example.com/adminconsent?client_id=client-1&redirect_uri=https%3A%2F%2Fgw.example%2Fcb"
	if e.Metadata["consent_url"] != want || len(e.Links) != 1 || e.Links[0].URL != want {
		t.Errorf("metadata %v, links %v; want consent URL %s", e.Metadata, e.Links, want)
	}
	if consent.Metadata != nil || consent.Links != nil {
		t.Error("the token source's own error was modified")
	}
}

func TestConsentURL(t *testing.T) {
	tests := []struct {
		name, redirect, tenant, state string
		want                          string
		wantReason                    string
	}{
		{name: "allowed, any case", redirect: "https://gw.example/cb", tenant: "FABRIKAM.example.com", state: "a b&c",
			want: "https://login.example/fabrikam.example.com/adminconsent?client_id=client-1&redirect_uri=https%3A%2F%2Fgw.example%2Fcb&state=a+b%26c"},
		{name: "trailing slash on the authority", redirect: "http://localhost/cb", tenant: "7c9d1e3f-2a4b-4c5d-8e6f-0a1b2c3d4e5f",
			want: "https://login.example/7c9d1e3f-2a4b-4c5d-8e6f-0a1b2c3d4e5f/adminconsent?client_id=client-1&redirect_uri=http%3A%2F%2Flocalhost%2Fcb"},
		{name: "by tenant id", redirect: "http://localhost/cb", tenant: fabrikamID,
			want: "https://login.example/fabrikam.example.com/adminconsent?client_id=client-1&redirect_uri=http%3A%2F%2Flocalhost%2Fcb"},
		{name: "not allowed", redirect: "https://gw.example/cb", tenant: "other.example.com", wantReason: defender.ReasonTenantNotAllowed},
		{name: "home tenant", redirect: "https://gw.example/cb", tenant: "default", wantReason: defender.ReasonTenantNotAllowed},
		{name: "no redirect URI", tenant: "fabrikam.example.com", wantReason: defender.ReasonNotConfigured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPartnerFixture(t, tt.redirect, nil)
			link, err := f.reg.ConsentURL(context.Background(), tt.tenant, tt.state)
			if tt.wantReason != "" {
				e, ok := defender.AsError(err)
				if !ok || e.Reason != tt.wantReason {
					t.Fatalf("ConsentURL = %v, want %s", err, tt.wantReason)
				}
				if tt.wantReason == defender.ReasonNotConfigured && !strings.Contains(e.Message, "DEFENDER_CONSENT_REDIRECT_URI") {
					t.Errorf("message %q does not name the setting", e.Message)
				}
				return
			}
			if err != nil || link.URL != tt.want || link.RedirectURI != tt.redirect {
				t.Errorf("ConsentURL = %+v, %v; want %s", link, err, tt.want)
			}
			if len(f.built) != 0 {
				t.Error("ConsentURL built a token source")
			}
		})
	}
}

func TestCheckContextsStatusesAndCache(t *testing.T) {
	f := newPartnerFixture(t, "", map[string]error{
		"fabrikam.example.com":                 defender.Errorf(defender.KindFailedPrecondition, defender.ReasonConsentRequired, "tenant has not consented (AADSTS65001)"),
		"7c9d1e3f-2a4b-4c5d-8e6f-0a1b2c3d4e5f": defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable, "Entra ID could not be reached"),
	})
	check := func() map[string]Info {
		out := map[string]Info{}
		for _, info := range f.reg.CheckContexts(context.Background()) {
			out[info.Tenant] = info
		}
		// Every context is named by its tenant id.
		if fab := out[fabrikamID]; fab.Name != partnerNamePrefix+fabrikamID {
			t.Errorf("fabrikam's context is named %q", fab.Name)
		}
		out["fabrikam.example.com"] = out[fabrikamID]
		return out
	}
	got := check()
	for tenant, want := range map[string]TokenStatus{
		strings.ToLower(homeTenantID):          TokenAvailable,
		"fabrikam.example.com":                 TokenConsentRequired,
		"7c9d1e3f-2a4b-4c5d-8e6f-0a1b2c3d4e5f": TokenUnavailable,
	} {
		if got[tenant].TokenStatus != want || !got[tenant].TokenCheckTime.Equal(f.now) {
			t.Errorf("%s: %v at %v, want %v at %v", tenant, got[tenant].TokenStatus, got[tenant].TokenCheckTime, want, f.now)
		}
	}
	if got["fabrikam.example.com"].TokenStatusDetail != "tenant has not consented (AADSTS65001)" || got["fabrikam.example.com"].DisplayName != "Fabrikam" {
		t.Errorf("fabrikam = %+v", got["fabrikam.example.com"])
	}
	f.now = f.now.Add(DefaultStatusTTL - time.Second)
	check()
	if n := f.built["fabrikam.example.com"].calls; n != 1 {
		t.Errorf("within the TTL: %d token calls, want 1", n)
	}
	f.built["fabrikam.example.com"].err = nil
	f.now = f.now.Add(2 * time.Second)
	if got := check(); got["fabrikam.example.com"].TokenStatus != TokenAvailable || f.built["fabrikam.example.com"].calls != 2 {
		t.Errorf("after the TTL: %v with %d calls, want AVAILABLE with 2", got["fabrikam.example.com"].TokenStatus, f.built["fabrikam.example.com"].calls)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want TokenStatus
	}{
		{nil, TokenAvailable},
		{defender.Errorf(defender.KindUpstreamAuth, defender.ReasonTokenAcquisition, "bad secret"), TokenCredentialsRejected},
		{defender.Errorf(defender.KindFailedPrecondition, defender.ReasonConsentRequired, "no consent"), TokenConsentRequired},
		{defender.Errorf(defender.KindThrottled, defender.ReasonThrottled, "slow down"), TokenUnavailable},
		{errors.New("boom with secret"), TokenUnavailable},
	}
	for _, tt := range tests {
		got := classify(tt.err)
		if got.status != tt.want {
			t.Errorf("classify(%v) = %v, want %v", tt.err, got.status, tt.want)
		}
		if strings.Contains(got.detail, "secret") && tt.err != nil && !strings.Contains(tt.err.Error(), "bad secret") {
			t.Errorf("detail %q repeats an untrusted error", got.detail)
		}
	}
}

func TestPartnerHomeTenantRefused(t *testing.T) {
	_, err := New(Options{
		App:        AppContext{Tenant: homeTenantID, Backend: defender.BackendGraph, APIURL: "https://graph.example", Tokens: &countingTokens{}},
		Partner:    PartnerContext{Tenants: []PartnerTenant{{Tenant: strings.ToLower(homeTenantID)}}, NewTokens: func(PartnerTenant) (defender.TokenSource, error) { return nil, nil }},
		HTTPClient: newFakeDirectory().client(),
		NewBackend: (&countingFactory{}).newBackend,
	})
	if err == nil || !strings.Contains(err.Error(), "home tenant") {
		t.Errorf("New = %v, want the home tenant refused", err)
	}
}
