package credentials

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func oboOptions(e *emulator.Emulator) OnBehalfOfOptions {
	return OnBehalfOfOptions{
		AuthorityHost: e.AuthorityHost(),
		TenantID:      identity.HomeTenantDomain,
		ClientID:      identity.ClientID,
		ClientSecret:  identity.ClientSecret,
		Scope:         graphScope,
		HTTPClient:    e.HTTPClient(),
	}
}

func newOnBehalfOf(t *testing.T, opts OnBehalfOfOptions) *OnBehalfOf {
	t.Helper()
	o, err := NewOnBehalfOf(opts)
	if err != nil {
		t.Fatalf("NewOnBehalfOf: %v", err)
	}
	return o
}

// userContext is a context whose caller presented raw as a user token.
func userContext(raw, upn string) context.Context {
	return caller.NewContext(context.Background(), &caller.Request{
		Identity:  caller.Identity{Kind: caller.KindUser, Name: "user:" + upn},
		UserToken: &caller.UserToken{Raw: raw, UPN: upn},
	})
}

func userToken(t *testing.T, e *emulator.Emulator, spec emulator.UserTokenSpec) string {
	t.Helper()
	raw, err := e.UserToken(spec)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestOnBehalfOfExchangesAndCaches(t *testing.T) {
	e := startEmulator(t)
	withCert := oboOptions(e)
	withCert.ClientSecret, withCert.CertificatePEM = "", e.ClientCertificatePEM()
	xdr := oboOptions(e)
	xdr.Scope, xdr.TenantID = identity.XDRResource+"/.default", identity.HomeTenantID
	tests := []struct {
		name     string
		opts     OnBehalfOfOptions
		upn      string
		wantKind string
	}{
		{"secret, alice, graph", oboOptions(e), identity.AliceUPN, KindClientSecret},
		{"certificate, bob, graph", withCert, identity.BobUPN, KindCertificate},
		{"secret, alice, xdr, tenant GUID", xdr, identity.AliceUPN, KindClientSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOnBehalfOf(t, tt.opts)
			if got := o.CredentialKind(); got != tt.wantKind {
				t.Errorf("CredentialKind() = %q, want %q", got, tt.wantKind)
			}
			ctx := userContext(userToken(t, e, emulator.UserTokenSpec{UPN: tt.upn}), tt.upn)
			before := e.TokenRequests()
			token, err := o.Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			claims, err := e.Entra().Verify(token)
			if err != nil {
				t.Fatalf("the emulator does not accept the token: %v", err)
			}
			if claims.UPN != tt.upn || claims.Audience != strings.TrimSuffix(tt.opts.Scope, "/.default") {
				t.Errorf("claims = %+v, want upn %s for %s", claims, tt.upn, tt.opts.Scope)
			}
			again, err := o.Token(ctx)
			if err != nil || again != token {
				t.Fatalf("second Token: same %v, err %v", again == token, err)
			}
			if got := e.TokenRequests() - before; got != 1 {
				t.Errorf("two calls with one user token made %d token requests, want 1", got)
			}
			// Another user of the same tenant gets their own token.
			other := identity.BobUPN
			if tt.upn == other {
				other = identity.AliceUPN
			}
			token2, err := o.Token(userContext(userToken(t, e, emulator.UserTokenSpec{UPN: other}), other))
			if err != nil {
				t.Fatal(err)
			}
			if c, err := e.Entra().Verify(token2); err != nil || c.UPN != other {
				t.Errorf("second user's claims = %+v, err %v", c, err)
			}
		})
	}
}

func TestOnBehalfOfWithoutUserTokenIsInternal(t *testing.T) {
	e := startEmulator(t)
	o := newOnBehalfOf(t, oboOptions(e))
	for name, ctx := range map[string]context.Context{
		"no caller":        context.Background(),
		"caller, no token": caller.NewContext(context.Background(), &caller.Request{Account: identity.AliceUPN}),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := o.Token(ctx)
			wantError(t, err, defender.KindInternal, defender.ReasonInternal)
			if e.TokenRequests() != 0 {
				t.Error("a request was made without a user token")
			}
		})
	}
}

func TestOnBehalfOfRejected(t *testing.T) {
	e := startEmulator(t)
	now := time.Now()
	wrongSecret := oboOptions(e)
	wrongSecret.ClientSecret = "wrong-secret-51c0ffee"
	tests := []struct {
		name       string
		opts       OnBehalfOfOptions
		spec       emulator.UserTokenSpec
		wantKind   defender.ErrorKind
		wantReason string
		wantAADSTS string
	}{
		{"forged user token", oboOptions(e), emulator.UserTokenSpec{UPN: identity.AliceUPN, Forged: true},
			defender.KindUnauthenticated, defender.ReasonUserAssertionRejected, "AADSTS50013"},
		{"expired user token", oboOptions(e), emulator.UserTokenSpec{UPN: identity.AliceUPN, IssuedAt: now.Add(-2 * time.Hour), NotBefore: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
			defender.KindUnauthenticated, defender.ReasonUserAssertionRejected, "AADSTS500133"},
		{"token for another app", oboOptions(e), emulator.UserTokenSpec{UPN: identity.AliceUPN, Audience: identity.CallerClientID},
			defender.KindUnauthenticated, defender.ReasonUserAssertionRejected, "AADSTS50013"},
		{"user of another tenant", oboOptions(e), emulator.UserTokenSpec{UPN: identity.CarolUPN},
			defender.KindUnauthenticated, defender.ReasonUserAssertionRejected, "AADSTS50013"},
		{"the gateway's secret is wrong", wrongSecret, emulator.UserTokenSpec{UPN: identity.AliceUPN},
			defender.KindUpstreamAuth, defender.ReasonTokenAcquisition, "AADSTS7000215"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := userToken(t, e, tt.spec)
			_, err := newOnBehalfOf(t, tt.opts).Token(userContext(raw, tt.spec.UPN))
			de := wantError(t, err, tt.wantKind, tt.wantReason)
			if !strings.Contains(de.Message, tt.wantAADSTS) {
				t.Errorf("Message = %q, want it to name %s", de.Message, tt.wantAADSTS)
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", de.Cause)} {
				if strings.Contains(text, raw) || strings.Contains(text, tt.opts.ClientSecret) {
					t.Errorf("error text holds the user token or the secret: %s", text)
				}
			}
		})
	}
}

func TestMapUserErrorOnBehalfOf(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantKind   defender.ErrorKind
		wantReason string
	}{
		{"assertion invalid", `{"error":"invalid_grant","error_description":"AADSTS50013: Assertion failed signature validation.","error_codes":[50013]}`,
			defender.KindUnauthenticated, defender.ReasonUserAssertionRejected},
		{"assertion expired", `{"error":"invalid_grant","error_description":"AADSTS500133: Assertion is not within its valid time range.","error_codes":[500133]}`,
			defender.KindUnauthenticated, defender.ReasonUserAssertionRejected},
		{"other invalid_grant", `{"error":"invalid_grant","error_description":"AADSTS50034: The user account does not exist.","error_codes":[50034]}`,
			defender.KindUnauthenticated, defender.ReasonUserAssertionRejected},
		{"consent", `{"error":"invalid_grant","suberror":"consent_required","error_description":"AADSTS65001: not consented.","error_codes":[65001]}`,
			defender.KindFailedPrecondition, defender.ReasonConsentRequired},
		{"mfa", `{"error":"invalid_grant","error_description":"AADSTS50076: you must use multi-factor authentication.","error_codes":[50076]}`,
			defender.KindFailedPrecondition, defender.ReasonInteractionRequired},
		{"mfa registration", `{"error":"invalid_grant","error_description":"AADSTS50079: register for MFA.","error_codes":[50079]}`,
			defender.KindFailedPrecondition, defender.ReasonInteractionRequired},
		{"interaction_required", `{"error":"interaction_required","error_description":"AADSTS50158: External security challenge not satisfied.","error_codes":[50158]}`,
			defender.KindFailedPrecondition, defender.ReasonInteractionRequired},
		{"the app's secret", `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`,
			defender.KindUpstreamAuth, defender.ReasonTokenAcquisition},
		{"missing credential is not a public client matter here", `{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain client_assertion or client_secret.","error_codes":[7000218]}`,
			defender.KindUpstreamAuth, defender.ReasonTokenAcquisition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := 400
			if strings.Contains(tt.body, "invalid_client") {
				status = 401
			}
			m := tokenErrorMapper{secret: testSecret, tenant: "contoso.example"}
			e := m.mapUserError(callErr(status, nil, tt.body), false, flowOnBehalfOf)
			if e.Kind != tt.wantKind || e.Reason != tt.wantReason {
				t.Fatalf("got kind %d reason %s (%v), want kind %d reason %s", e.Kind, e.Reason, e, tt.wantKind, tt.wantReason)
			}
			if e.UpstreamStatus != status || strings.Contains(e.Error(), testSecret) {
				t.Errorf("UpstreamStatus = %d; error text %q must not hold the secret", e.UpstreamStatus, e.Error())
			}
		})
	}
}

func TestOnBehalfOfConcurrentColdCallsShareOneRequestPerUser(t *testing.T) {
	e := startEmulator(t)
	o := newOnBehalfOf(t, oboOptions(e))
	defer e.InjectFault(emulator.Fault{API: emulator.APIEntra, PathPrefix: "/" + identity.HomeTenantID + "/oauth2/", Delay: 200 * time.Millisecond})()
	users := []string{identity.AliceUPN, identity.BobUPN}
	ctxs := make([]context.Context, len(users))
	for i, upn := range users {
		ctxs[i] = userContext(userToken(t, e, emulator.UserTokenSpec{UPN: upn}), upn)
	}
	const perUser = 10
	tokens := make([]string, len(users)*perUser)
	errs := make([]error, len(tokens))
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() { tokens[i], errs[i] = o.Token(ctxs[i%len(users)]) })
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil || tokens[i] != tokens[i%len(users)] {
			t.Fatalf("call %d: err %v, same token as its user's first: %v", i, errs[i], tokens[i] == tokens[i%len(users)])
		}
	}
	if tokens[0] == tokens[1] {
		t.Error("two users got the same token")
	}
	if got := e.TokenRequests(); got != len(users) {
		t.Errorf("%d concurrent cold calls of %d users made %d token requests, want %d", len(tokens), len(users), got, len(users))
	}
}

func TestUserContextStringsHideSecrets(t *testing.T) {
	e := startEmulator(t)
	o := newOnBehalfOf(t, oboOptions(e))
	key := bytes.Repeat([]byte{0x42}, UserCacheKeySize)
	d, err := NewDeviceLogins(DeviceLoginsOptions{ClientID: identity.ClientID, CacheFile: filepath.Join(t.TempDir(), "c"), CacheKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, v := range []any{o, d} {
		for _, text := range []string{fmt.Sprint(v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v)} {
			if strings.Contains(text, identity.ClientSecret) || strings.Contains(text, string(key)) || strings.Contains(text, "0x42") {
				t.Errorf("%T prints a secret: %s", v, text)
			}
			if !strings.HasPrefix(text, "credentials.") {
				t.Errorf("%T prints %q, want its String", v, text)
			}
		}
	}
}

// TestOnBehalfOfCacheIsDroppedAfterItsLifetime: MSAL never evicts
// on-behalf-of tokens, so the source replaces its client (and cache) after
// oboCacheLifetime; the next call exchanges again.
func TestOnBehalfOfCacheIsDroppedAfterItsLifetime(t *testing.T) {
	e := startEmulator(t)
	o := newOnBehalfOf(t, oboOptions(e))
	clock := time.Now()
	o.now = func() time.Time { return clock }
	ctx := userContext(userToken(t, e, emulator.UserTokenSpec{UPN: identity.AliceUPN}), identity.AliceUPN)
	exchanges := func() int {
		t.Helper()
		before := e.TokenRequests()
		if _, err := o.Token(ctx); err != nil {
			t.Fatal(err)
		}
		return e.TokenRequests() - before
	}
	if n := exchanges(); n != 1 {
		t.Fatalf("first call made %d token requests, want 1", n)
	}
	clock = clock.Add(oboCacheLifetime - time.Minute)
	if n := exchanges(); n != 0 {
		t.Errorf("a call within the cache lifetime made %d token requests, want 0", n)
	}
	clock = clock.Add(2 * time.Minute)
	if n := exchanges(); n != 1 {
		t.Errorf("the first call after the cache lifetime made %d token requests, want 1 (a fresh cache)", n)
	}
	if n := exchanges(); n != 0 {
		t.Errorf("the renewed cache does not serve: %d token requests", n)
	}
}
