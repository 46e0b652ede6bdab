package entratoken

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/defender"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newValidator(t *testing.T, f *fakeAuthority, c *clock, tenants ...string) *Validator {
	t.Helper()
	if len(tenants) == 0 {
		tenants = []string{tenantADomain, tenantB}
	}
	v, err := New(Options{
		AuthorityHost: f.host(),
		Audiences:     []string{gatewayApp, "api://" + gatewayApp},
		Tenants:       tenants,
		HTTPClient:    f.srv.Client(),
		Now:           c.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func TestValidateAccepts(t *testing.T) {
	f := newFakeAuthority(t)
	c := &clock{now: time.Now().Truncate(time.Second)}
	v := newValidator(t, f, c)
	tests := []struct {
		name           string
		mutate         func(jwt.MapClaims)
		wantTenant     string
		wantConfigured string
		wantAudience   string
		wantAppID      string
		wantUser       bool
	}{
		{"v2 user token, tenant configured as domain", func(jwt.MapClaims) {}, tenantA, tenantADomain, gatewayApp, cliApp, true},
		{"v1 issuer", func(m jwt.MapClaims) { m["iss"] = "https://sts.windows.net/" + tenantA + "/" }, tenantA, tenantADomain, gatewayApp, cliApp, true},
		{"app ID URI audience in a list", func(m jwt.MapClaims) { m["aud"] = []string{"other", "api://" + gatewayApp} }, tenantA, tenantADomain, "api://" + gatewayApp, cliApp, true},
		{"tenant configured as GUID", func(m jwt.MapClaims) {
			m["tid"] = tenantB
			m["iss"] = f.host() + "/" + tenantB + "/v2.0"
		}, tenantB, tenantB, gatewayApp, cliApp, true},
		{"expired within the leeway", func(m jwt.MapClaims) { m["exp"] = c.Now().Add(-30 * time.Second).Unix() }, tenantA, tenantADomain, gatewayApp, cliApp, true},
		{"not yet valid within the leeway", func(m jwt.MapClaims) { m["nbf"] = c.Now().Add(30 * time.Second).Unix() }, tenantA, tenantADomain, gatewayApp, cliApp, true},
		{"v1 app token: appid, roles, no user", func(m jwt.MapClaims) {
			for _, k := range []string{"azp", "scp", "upn", "preferred_username", "idtyp", "name"} {
				delete(m, k)
			}
			m["appid"] = "5d6c7b8a-9f0e-4d1c-8b2a-3c4d5e6f7a8b"
			m["roles"] = []string{"Gateway.Call"}
		}, tenantA, tenantADomain, gatewayApp, "5d6c7b8a-9f0e-4d1c-8b2a-3c4d5e6f7a8b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := f.userClaims(c.Now())
			tt.mutate(m)
			got, err := v.Validate(context.Background(), sign(t, f.key("key-1"), "key-1", m))
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got.Tenant != tt.wantTenant || got.ConfiguredTenant != tt.wantConfigured || got.Audience != tt.wantAudience ||
				got.AppID != tt.wantAppID || got.IsUser != tt.wantUser {
				t.Errorf("claims = %+v, want tenant %s (configured %s), aud %s, app %s, user %v",
					got, tt.wantTenant, tt.wantConfigured, tt.wantAudience, tt.wantAppID, tt.wantUser)
			}
		})
	}

	m := f.userClaims(c.Now())
	m["upn"] = nil
	delete(m, "upn")
	got, err := v.Validate(context.Background(), sign(t, f.key("key-1"), "key-1", m))
	if err != nil {
		t.Fatal(err)
	}
	want := Claims{
		Tenant: tenantA, ConfiguredTenant: tenantADomain, ObjectID: "a11ce000-0000-4000-8000-00000000a11c",
		UPN: "alice@" + tenantADomain, Name: "Alice Analyst", AppID: cliApp, Audience: gatewayApp,
		Expiry: c.Now().Add(time.Hour).UTC(), NotBefore: c.Now().UTC(), IsUser: true,
	}
	if got.ObjectID != want.ObjectID || got.UPN != want.UPN || got.Name != want.Name ||
		!got.Expiry.Equal(want.Expiry) || !got.NotBefore.Equal(want.NotBefore) ||
		strings.Join(got.Scopes, " ") != "access_as_user Incident.Read" {
		t.Errorf("claims = %+v, want %+v with scopes [access_as_user Incident.Read] (UPN from preferred_username)", got, want)
	}
}

func TestValidateRejects(t *testing.T) {
	f := newFakeAuthority(t)
	c := &clock{now: time.Now().Truncate(time.Second)}
	v := newValidator(t, f, c)
	forger := newKey(t)
	signed := func(mutate func(jwt.MapClaims)) func(*testing.T) string {
		return func(t *testing.T) string {
			m := f.userClaims(c.Now())
			mutate(m)
			return sign(t, f.key("key-1"), "key-1", m)
		}
	}
	tests := []struct {
		name  string
		token func(*testing.T) string
		want  Check
	}{
		{"two parts", func(*testing.T) string { return "abc.def" }, CheckMalformed},
		{"not base64", func(*testing.T) string { return "!!!.###.$$$" }, CheckMalformed},
		{"alg none", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, f.userClaims(c.Now()))
			s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, CheckMalformed},
		{"alg HS256 with the public key", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, f.userClaims(c.Now()))
			s, err := tok.SignedString([]byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, CheckMalformed},
		{"no tid", signed(func(m jwt.MapClaims) { delete(m, "tid") }), CheckMalformed},
		{"no exp", signed(func(m jwt.MapClaims) { delete(m, "exp") }), CheckMalformed},
		{"forged under the real kid", func(t *testing.T) string { return sign(t, forger, "key-1", f.userClaims(c.Now())) }, CheckSignature},
		{"forged under an unknown kid", func(t *testing.T) string { return sign(t, forger, "key-x", f.userClaims(c.Now())) }, CheckSignature},
		{"tampered payload", func(t *testing.T) string {
			good := strings.Split(signed(func(jwt.MapClaims) {})(t), ".")
			other := strings.Split(signed(func(m jwt.MapClaims) { m["upn"] = "mallory@" + tenantADomain })(t), ".")
			return good[0] + "." + other[1] + "." + good[2]
		}, CheckSignature},
		{"issuer of another host", signed(func(m jwt.MapClaims) { m["iss"] = "https://login.evil.example/" + tenantA + "/v2.0" }), CheckIssuer},
		{"issuer of another tenant", signed(func(m jwt.MapClaims) { m["iss"] = f.host() + "/" + tenantB + "/v2.0" }), CheckIssuer},
		{"v1 issuer of another tenant", signed(func(m jwt.MapClaims) { m["iss"] = "https://sts.windows.net/" + tenantB + "/" }), CheckIssuer},
		{"audience of Graph", signed(func(m jwt.MapClaims) { m["aud"] = "https://graph.microsoft.com" }), CheckAudience},
		{"expired beyond the leeway", signed(func(m jwt.MapClaims) { m["exp"] = c.Now().Add(-2 * time.Minute).Unix() }), CheckExpired},
		{"not yet valid beyond the leeway", signed(func(m jwt.MapClaims) { m["nbf"] = c.Now().Add(2 * time.Minute).Unix() }), CheckNotBefore},
		{"tenant not served", signed(func(m jwt.MapClaims) {
			m["tid"] = tenantOther
			m["iss"] = f.host() + "/" + tenantOther + "/v2.0"
		}), CheckTenant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.token(t)
			_, err := v.Validate(context.Background(), raw)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v (%T), want an *Error", err, err)
			}
			if te.Check != tt.want {
				t.Fatalf("check = %s (%v), want %s", te.Check, err, tt.want)
			}
			de := AsDefenderError(err)
			if de.Kind != defender.KindUnauthenticated || de.Reason != defender.ReasonTokenInvalid || de.Metadata["check"] != string(tt.want) {
				t.Errorf("defender error = kind %d reason %s metadata %v", de.Kind, de.Reason, de.Metadata)
			}
			if want := "the token was rejected: " + string(tt.want) + ": "; !strings.HasPrefix(de.Message, want) {
				t.Errorf("Message = %q, want prefix %q", de.Message, want)
			}
			sig := raw[strings.LastIndex(raw, ".")+1:]
			for _, text := range []string{err.Error(), de.Error(), fmt.Sprintf("%+v", te)} {
				if strings.Contains(text, raw) || (len(sig) > 10 && strings.Contains(text, sig)) {
					t.Errorf("error text holds the token: %s", text)
				}
			}
		})
	}
}

func TestValidateKeyRollover(t *testing.T) {
	f := newFakeAuthority(t)
	c := &clock{now: time.Now()}
	v := newValidator(t, f, c)
	ctx := context.Background()
	if _, err := v.Validate(ctx, sign(t, f.key("key-1"), "key-1", f.userClaims(c.Now()))); err != nil {
		t.Fatal(err)
	}
	fetches := f.jwks.Load()
	for range 3 {
		if _, err := v.Validate(ctx, sign(t, f.key("key-1"), "key-1", f.userClaims(c.Now()))); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.jwks.Load() - fetches; got != 0 {
		t.Errorf("tokens of a known key made %d key set fetches, want 0", got)
	}
	// Forged tokens do not make the gateway hammer the authority: go-oidc
	// refetches for each, but fetches are at least minKeyRefetch apart.
	forger := newKey(t) // not in the key set
	for range 5 {
		if _, err := v.Validate(ctx, sign(t, forger, "key-1", f.userClaims(c.Now()))); err == nil {
			t.Fatal("a forged token was accepted")
		}
	}
	if got := f.jwks.Load() - fetches; got != 0 {
		t.Errorf("5 forged tokens within %s of the last fetch made %d key set fetches, want 0", minKeyRefetch, got)
	}
	// A rolled key is seen at the next fetch.
	rolled := f.addKey("key-2")
	c.Advance(minKeyRefetch)
	if _, err := v.Validate(ctx, sign(t, rolled, "key-2", f.userClaims(c.Now()))); err != nil {
		t.Fatalf("a token of the new key: %v", err)
	}
	if got := f.jwks.Load() - fetches; got != 1 {
		t.Errorf("the new key made %d key set fetches, want 1", got)
	}
}

func TestValidateKeysUnavailable(t *testing.T) {
	f := newFakeAuthority(t)
	c := &clock{now: time.Now()}
	v := newValidator(t, f, c)
	ctx := context.Background()
	token := func() string { return sign(t, f.key("key-1"), "key-1", f.userClaims(c.Now())) }

	f.setFailing(true)
	_, err := v.Validate(ctx, token())
	if !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("err = %v, want ErrKeysUnavailable", err)
	}
	if de := AsDefenderError(err); de.Kind != defender.KindUnavailable || de.Reason != defender.ReasonUnavailable {
		t.Errorf("defender error = kind %d reason %s, want UNAVAILABLE", de.Kind, de.Reason)
	}

	// The failure is not cached forever: once the authority is back and the
	// retry pause has passed, validation works.
	f.setFailing(false)
	before := f.discovery.Load()
	if _, err := v.Validate(ctx, token()); !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("within the retry pause: err = %v, want ErrKeysUnavailable without a request", err)
	}
	if f.discovery.Load() != before {
		t.Error("a discovery request was made within the retry pause")
	}
	c.Advance(retryResolutionAfter)
	if _, err := v.Validate(ctx, token()); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestValidateDomainResolutionRetried(t *testing.T) {
	f := newFakeAuthority(t)
	c := &clock{now: time.Now()}
	// The first tenant (a GUID) gives the key set; the second, a domain,
	// must be resolved for its tokens.
	v := newValidator(t, f, c, tenantA, tenantBDomain)
	ctx := context.Background()
	tokenB := func() string {
		m := f.userClaims(c.Now())
		m["tid"], m["iss"] = tenantB, f.host()+"/"+tenantB+"/v2.0"
		return sign(t, f.key("key-1"), "key-1", m)
	}
	if _, err := v.Validate(ctx, sign(t, f.key("key-1"), "key-1", f.userClaims(c.Now()))); err != nil {
		t.Fatal(err)
	}
	f.setFailing(true)
	_, err := v.Validate(ctx, tokenB())
	if !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("unresolvable domain: err = %v, want ErrKeysUnavailable (not a tenant rejection)", err)
	}
	f.setFailing(false)
	c.Advance(retryResolutionAfter)
	got, err := v.Validate(ctx, tokenB())
	if err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if got.ConfiguredTenant != tenantBDomain {
		t.Errorf("ConfiguredTenant = %q, want %q", got.ConfiguredTenant, tenantBDomain)
	}
	before := f.discovery.Load()
	if _, err := v.Validate(ctx, tokenB()); err != nil {
		t.Fatal(err)
	}
	if f.discovery.Load() != before {
		t.Error("a resolved domain was resolved again")
	}
}

func TestValidateCanceled(t *testing.T) {
	f := newFakeAuthority(t)
	c := &clock{now: time.Now()}
	v := newValidator(t, f, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.Validate(ctx, sign(t, f.key("key-1"), "key-1", f.userClaims(c.Now())))
	if de := AsDefenderError(err); de.Kind != defender.KindCanceled {
		t.Errorf("err = %v, want CANCELED", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	good := Options{AuthorityHost: "https://login.example", Audiences: []string{gatewayApp}, Tenants: []string{tenantA}}
	tests := []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"http authority", func(o *Options) { o.AuthorityHost = "http://login.example" }, "https"},
		{"authority with path", func(o *Options) { o.AuthorityHost = "https://login.example/tenant" }, "path"},
		{"no audience", func(o *Options) { o.Audiences = nil }, "audience"},
		{"no tenant", func(o *Options) { o.Tenants = nil }, "tenant"},
		{"common tenant", func(o *Options) { o.Tenants = []string{"common"} }, "common"},
		{"negative leeway", func(o *Options) { o.Leeway = -time.Second }, "leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.mutate(&o)
			if _, err := New(o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: err = %v, want one naming %q", err, tt.want)
			}
		})
	}
	if _, err := New(good); err != nil {
		t.Errorf("New(good): %v", err)
	}
}
