package authctx

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
)

const (
	homeTenantID = "E5B3F2A4-6c1d-4f8e-9a27-3d5c8b1e0f42"
	homeDomain   = "contoso.onmicrosoft.com"
)

// fakeBackend is a Backend that is never called by these tests.
type fakeBackend struct {
	defender.Backend
	kind defender.BackendKind
	opts defender.ClientOptions
}

func (b *fakeBackend) Kind() defender.BackendKind { return b.kind }

// countingFactory records every backend it builds.
type countingFactory struct {
	built []*fakeBackend
	err   error
}

func (f *countingFactory) newBackend(kind defender.BackendKind, opts defender.ClientOptions) (defender.Backend, error) {
	if f.err != nil {
		return nil, f.err
	}
	b := &fakeBackend{kind: kind, opts: opts}
	f.built = append(f.built, b)
	return b, nil
}

// countingTokens counts token requests.
type countingTokens struct{ calls atomic.Int32 }

func (c *countingTokens) Token(context.Context) (string, error) {
	c.calls.Add(1)
	return "token", nil
}

func newRegistry(t *testing.T, tenant string) (*Registry, *countingFactory, *countingTokens, *http.Client) {
	t.Helper()
	factory := &countingFactory{}
	tokens := &countingTokens{}
	client := newFakeDirectory().client()
	r, err := New(Options{
		App: AppContext{
			Tenant: tenant, ClientID: "client-1", Backend: defender.BackendXDR,
			APIURL: "https://api.security.microsoft.com", AuthorityHost: "https://login.microsoftonline.com",
			Scope: "https://api.security.microsoft.com/.default", CredentialKind: "certificate", Tokens: tokens,
		},
		HTTPClient: client,
		NewBackend: factory.newBackend,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, factory, tokens, client
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name       string
		configured string
		tenant     string
		wantOK     bool
	}{
		{"default", homeTenantID, "default", true},
		{"DEFAULT", homeTenantID, "DEFAULT", true},
		{"GUID as configured", homeTenantID, homeTenantID, true},
		{"GUID in another case", homeTenantID, strings.ToLower(homeTenantID), true},
		{"domain", homeDomain, "Contoso.OnMicrosoft.com", true},
		{"default with a domain configured", homeDomain, "default", true},
		{"GUID when a domain is configured", homeDomain, homeTenantID, true},
		{"domain when a GUID is configured", homeTenantID, "CONTOSO.onmicrosoft.com", true},
		{"another verified domain", homeDomain, "contoso.com", true},
		{"other tenant", homeTenantID, "7c9d1e3f-2a4b-4c5d-8e6f-0a1b2c3d4e5f", false},
		{"other existing domain", homeDomain, fabrikamDomain, false},
		{"domain unknown to the authority", homeTenantID, "fabrikam.onmicrosoft.com", false},
		{"prefix of the tenant", homeDomain, "contoso", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, factory, tokens, _ := newRegistry(t, tt.configured)
			target, err := r.Resolve(context.Background(), tt.tenant)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Resolve(%q): %v", tt.tenant, err)
				}
				// Whatever names it, the tenant comes back as its id.
				want := strings.ToLower(homeTenantID)
				if target.Backend != factory.built[0] || target.Tenant != want || target.Context.Tenant != want || target.Context.Name != AppContextName {
					t.Errorf("target = %+v; want the app backend, tenant %q, context %s", target, want, AppContextName)
				}
			} else {
				de, ok := defender.AsError(err)
				if !ok || de.Kind != defender.KindPermissionDenied || de.Reason != defender.ReasonTenantNotAllowed {
					t.Fatalf("err = %v, want PERMISSION_DENIED TENANT_NOT_ALLOWED", err)
				}
				if !strings.Contains(de.Message, tt.tenant) || !strings.Contains(de.Message, "home tenant") {
					t.Errorf("Message = %q, want it to name %q and the home tenant rule", de.Message, tt.tenant)
				}
			}
			if n := tokens.calls.Load(); n != 0 {
				t.Errorf("Resolve made %d token requests, want 0", n)
			}
			if len(factory.built) != 1 {
				t.Errorf("built %d backends, want the app backend once", len(factory.built))
			}
		})
	}
}

func TestResolveEmptyTenant(t *testing.T) {
	r, _, _, _ := newRegistry(t, homeTenantID)
	_, err := r.Resolve(context.Background(), "")
	if de, ok := defender.AsError(err); !ok || de.Kind != defender.KindInvalidArgument {
		t.Errorf("err = %v, want INVALID_ARGUMENT", err)
	}
}

func TestResolveTruncatesLongTenant(t *testing.T) {
	r, _, _, _ := newRegistry(t, homeTenantID)
	_, err := r.Resolve(context.Background(), strings.Repeat("x", 5000))
	de, ok := defender.AsError(err)
	if !ok || len(de.Message) > 400 {
		t.Errorf("err = %v (message %d bytes), want a bounded TENANT_NOT_ALLOWED message", err, len(de.Message))
	}
}

func TestNewBuildsAppBackendOnce(t *testing.T) {
	r, factory, tokens, client := newRegistry(t, homeTenantID)
	if len(factory.built) != 1 {
		t.Fatalf("built %d backends, want 1", len(factory.built))
	}
	b := factory.built[0]
	if b.kind != defender.BackendXDR || b.opts.BaseURL != "https://api.security.microsoft.com" || b.opts.HTTPClient != client || b.opts.Tokens != tokens || b.opts.Logger == nil {
		t.Errorf("backend built with kind %s, options %+v", b.kind, b.opts)
	}
	for range 3 {
		if _, err := r.Resolve(context.Background(), "default"); err != nil {
			t.Fatal(err)
		}
	}
	if len(factory.built) != 1 {
		t.Errorf("Resolve built backends: %d in all, want 1", len(factory.built))
	}
}

func TestContexts(t *testing.T) {
	r, _, _, _ := newRegistry(t, homeDomain)
	want := []Info{{
		Name: "contexts/app", Kind: "app", Tenant: strings.ToLower(homeTenantID), ClientID: "client-1", CredentialKind: "certificate",
		Backend: defender.BackendXDR, APIURL: "https://api.security.microsoft.com",
		AuthorityHost: "https://login.microsoftonline.com", Scope: "https://api.security.microsoft.com/.default",
	}}
	got := r.Contexts(context.Background())
	if len(got) != len(want) || got[0] != want[0] {
		t.Errorf("Contexts() = %+v, want %+v", got, want)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	valid := func() Options {
		return Options{
			App:        AppContext{Tenant: homeTenantID, Backend: defender.BackendGraph, APIURL: "https://graph.microsoft.com/v1.0", Tokens: &countingTokens{}},
			HTTPClient: newFakeDirectory().client(),
			NewBackend: (&countingFactory{}).newBackend,
		}
	}
	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr string
	}{
		{"no factory", func(o *Options) { o.NewBackend = nil }, "NewBackend is required"},
		{"no HTTP client", func(o *Options) { o.HTTPClient = nil }, "HTTPClient is required"},
		{"no tenant", func(o *Options) { o.App.Tenant = "" }, "tenant is required"},
		{"tenant named default", func(o *Options) { o.App.Tenant = "Default" }, "reserved"},
		{"no token source", func(o *Options) { o.App.Tokens = nil }, "token source is required"},
		{"no API URL", func(o *Options) { o.App.APIURL = "" }, "API URL is required"},
		{"factory fails", func(o *Options) { o.NewBackend = (&countingFactory{err: errors.New("bad base URL")}).newBackend }, "bad base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid()
			tt.mutate(&opts)
			if _, err := New(opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := New(valid()); err != nil {
		t.Errorf("valid options: %v", err)
	}
}
