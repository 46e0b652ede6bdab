package authctx

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// blockingTransport answers like d once release is closed.
type blockingTransport struct {
	d       *fakeDirectory
	release chan struct{}
}

func (b blockingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	<-b.release
	return b.d.RoundTrip(r)
}

func TestTenantIDLookupIsCachedAndShared(t *testing.T) {
	d := newFakeDirectory()
	release := make(chan struct{})
	ids := newTenantIDs(&http.Client{Transport: blockingTransport{d: d, release: release}}, nil)
	const callers = 20
	var wg sync.WaitGroup
	got := make([]string, callers)
	for i := range callers {
		wg.Go(func() {
			id, err := ids.lookup(context.Background(), "https://login.example", "Contoso.OnMicrosoft.com", false)
			if err != nil {
				t.Error(err)
			}
			got[i] = id
		})
	}
	time.Sleep(50 * time.Millisecond) // let them all wait on the one request
	close(release)
	wg.Wait()
	for _, id := range got {
		if id != strings.ToLower(homeTenantID) {
			t.Fatalf("lookup = %q, want %s", id, strings.ToLower(homeTenantID))
		}
	}
	if _, err := ids.lookup(context.Background(), "https://login.example/", homeDomain, false); err != nil {
		t.Fatal(err)
	}
	if n := d.count(); n != 1 {
		t.Errorf("%d concurrent and repeated lookups made %d requests, want 1", callers+1, n)
	}
	// A GUID needs none.
	if id, err := ids.lookup(context.Background(), "https://login.example", fabrikamID, false); err != nil || id != fabrikamID || d.count() != 1 {
		t.Errorf("lookup(GUID) = %q, %v after %d requests", id, err, d.count())
	}
}

func TestTenantIDLookupFailures(t *testing.T) {
	d := newFakeDirectory()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := newTenantIDs(d.client(), func() time.Time { return now })
	ctx := context.Background()
	for range 3 {
		if _, err := ids.lookup(ctx, "https://login.example", "nobody.example", false); !errors.Is(err, errUnknownTenant) {
			t.Fatalf("unknown domain: %v, want errUnknownTenant", err)
		}
	}
	if n := d.count(); n != 1 {
		t.Errorf("an unknown domain was asked %d times, want once (cached)", n)
	}
	d.fail = true
	for range 2 {
		if _, err := ids.lookup(ctx, "https://login.example", fabrikamDomain, true); err == nil || errors.Is(err, errUnknownTenant) {
			t.Fatalf("authority failing: %v, want a lookup failure", err)
		}
	}
	if n := d.count(); n != 2 {
		t.Errorf("%d requests, want 2: a failure is remembered for a short while", n)
	}
	d.fail = false
	now = now.Add(failedLookupTTL)
	if id, err := ids.lookup(ctx, "https://login.example", fabrikamDomain, true); err != nil || id != fabrikamID || d.count() != 3 {
		t.Errorf("after the failure's TTL: %q, %v, %d requests; want a new request", id, err, d.count())
	}
	if _, err := ids.lookup(ctx, "https://login.example", "nobody.example", false); !errors.Is(err, errUnknownTenant) || d.count() != 3 {
		t.Errorf("an unknown tenant within its TTL: %v after %d requests", err, d.count())
	}
	now = now.Add(unknownTenantTTL)
	if _, err := ids.lookup(ctx, "https://login.example", "nobody.example", false); !errors.Is(err, errUnknownTenant) || d.count() != 4 {
		t.Errorf("an unknown tenant after its TTL: %v after %d requests; want a new request", err, d.count())
	}
	if e, ok := defender.AsError(lookupError(fabrikamDomain, errors.New("x"), false)); !ok || e.Kind != defender.KindUnavailable || e.Reason != defender.ReasonTenantLookupFailed {
		t.Errorf("lookupError = %v", e)
	}
}

func TestTenantIDLookupsOfRequestedDomainsAreBounded(t *testing.T) {
	d := newFakeDirectory()
	ids := newTenantIDs(d.client(), nil)
	limited := 0
	for i := range requestedLookupBurst + 10 {
		_, err := ids.lookup(context.Background(), "https://login.example", strings.Repeat("a", i+1)+".example", false)
		if errors.Is(err, errLookupsLimited) {
			limited++
		}
	}
	if limited == 0 || d.count() > requestedLookupBurst+1 {
		t.Errorf("%d lookups refused, %d requests; want the burst bound to hold", limited, d.count())
	}
	// Configured tenants are not bounded.
	if _, err := ids.lookup(context.Background(), "https://login.example", fabrikamDomain, true); err != nil {
		t.Errorf("configured lookup: %v", err)
	}
	e, ok := defender.AsError(lookupError("x.example", errLookupsLimited, false))
	if !ok || e.Kind != defender.KindResourceExhausted || e.Reason != defender.ReasonTooManyTenantLookups {
		t.Errorf("lookupError = %v", e)
	}
}

func TestResolveWhenTheAuthorityIsDown(t *testing.T) {
	d := newFakeDirectory()
	d.fail = true
	r, err := New(Options{
		App: AppContext{Tenant: homeDomain, Backend: defender.BackendGraph, APIURL: "https://graph.example",
			AuthorityHost: "https://login.example", Tokens: &countingTokens{}},
		HTTPClient: d.client(),
		NewBackend: (&countingFactory{}).newBackend,
	})
	if err != nil {
		t.Fatalf("New must not depend on the authority: %v", err)
	}
	if d.count() != 0 {
		t.Errorf("New made %d requests", d.count())
	}
	_, err = r.Resolve(context.Background(), "default")
	if e, ok := defender.AsError(err); !ok || e.Kind != defender.KindUnavailable || e.Reason != defender.ReasonTenantLookupFailed {
		t.Fatalf("Resolve = %v, want UNAVAILABLE TENANT_LOOKUP_FAILED", err)
	}
	// The configured name still matches for the policy, with no request.
	before := d.count()
	if c, ok := r.Canonical("CONTOSO.onmicrosoft.com"); !ok || c != homeDomain || d.count() != before {
		t.Errorf("Canonical = %q, %v", c, ok)
	}
	// Listing the contexts shows the tenant as configured meanwhile.
	if infos := r.Contexts(context.Background()); infos[0].Tenant != homeDomain {
		t.Errorf("Contexts()[0].Tenant = %q", infos[0].Tenant)
	}
}

func TestCanonicalMapsEveryNameToOneKey(t *testing.T) {
	d := newFakeDirectory()
	r, err := New(Options{
		App: AppContext{Tenant: homeTenantID, Backend: defender.BackendGraph, APIURL: "https://graph.example",
			AuthorityHost: "https://login.example", Tokens: &countingTokens{}},
		Partner: PartnerContext{Tenants: []PartnerTenant{{Tenant: fabrikamDomain, Backend: defender.BackendGraph, APIURL: "https://graph.example", AuthorityHost: "https://login.example"}},
			NewTokens: func(PartnerTenant) (defender.TokenSource, error) { return &countingTokens{}, nil }},
		HTTPClient: d.client(),
		NewBackend: (&countingFactory{}).newBackend,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, want string }{
		{"default", homeTenantID}, {strings.ToLower(homeTenantID), homeTenantID}, {homeDomain, homeTenantID}, {"contoso.com", homeTenantID},
		{fabrikamDomain, fabrikamDomain}, {fabrikamID, fabrikamDomain}, {"nobody.example", ""}, {"northwind.example", ""},
	} {
		got, ok := r.Canonical(tt.name)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tt.name, got, ok, tt.want)
		}
	}
}

func TestOnlyDNSNamesAreLookedUp(t *testing.T) {
	d := newFakeDirectory()
	r, err := New(Options{
		App: AppContext{Tenant: homeTenantID, Backend: defender.BackendGraph, APIURL: "https://graph.example",
			AuthorityHost: "https://login.example", Tokens: &countingTokens{}},
		HTTPClient: d.client(),
		NewBackend: (&countingFactory{}).newBackend,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"common", "organizations", "../contoso.com", "contoso.com/x", "contoso..com", "-a.example", strings.Repeat("a", 64) + ".example", "a b.example"} {
		if _, ok := r.Canonical(name); ok {
			t.Errorf("Canonical(%q) is ok", name)
		}
		_, err := r.Resolve(context.Background(), name)
		if e, ok := defender.AsError(err); !ok || e.Reason != defender.ReasonTenantNotAllowed {
			t.Errorf("Resolve(%q) = %v, want TENANT_NOT_ALLOWED", name, err)
		}
	}
	if n := d.count(); n != 0 {
		t.Errorf("%d lookups of names that are no DNS names, want 0: %v", n, d.requests)
	}
}
