package credentials

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

var deviceLoginIDPattern = regexp.MustCompile(`^[a-z0-9]{1,64}$`)

func xdrLoginTenant(e *emulator.Emulator) LoginTenant {
	return LoginTenant{Tenant: identity.HomeTenantDomain, AuthorityHost: e.AuthorityHost(), Scope: identity.XDRResource + "/.default"}
}

func newDeviceLogins(t *testing.T, e *emulator.Emulator, mutate func(*DeviceLoginsOptions)) *DeviceLogins {
	t.Helper()
	opts := DeviceLoginsOptions{ClientID: identity.ClientID, HTTPClient: e.HTTPClient()}
	if mutate != nil {
		mutate(&opts)
	}
	d, err := NewDeviceLogins(opts)
	if err != nil {
		t.Fatalf("NewDeviceLogins: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

// waitForState polls Get until the login leaves pending (or 10s pass).
func waitForState(t *testing.T, d *DeviceLogins, tenant, id string) DeviceLogin {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := d.Get(tenant, id)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if l.State != DeviceLoginPending || time.Now().After(deadline) {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// accountContext is a context whose caller names the signed-in account upn.
func accountContext(upn string) context.Context {
	return caller.NewContext(context.Background(), &caller.Request{Account: upn})
}

func startLogin(t *testing.T, d *DeviceLogins, lt LoginTenant) DeviceLogin {
	t.Helper()
	l, err := d.Start(context.Background(), lt)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return l
}

func TestDeviceLoginOutcomes(t *testing.T) {
	tests := []struct {
		name        string
		settle      func(e *emulator.Emulator, userCode string) error
		want        DeviceLoginState
		wantAccount string
		wantDetail  []string
	}{
		{"approved", func(e *emulator.Emulator, c string) error { return e.Entra().ApproveDeviceCode(c, identity.AliceUPN) },
			DeviceLoginCompleted, identity.AliceUPN, nil},
		{"declined", func(e *emulator.Emulator, c string) error { return e.Entra().DeclineDeviceCode(c) },
			DeviceLoginFailed, "", []string{"declined", "authorization_declined", "AADSTS70000"}},
		{"expired by Entra ID", func(e *emulator.Emulator, c string) error { return e.Entra().ExpireDeviceCode(c) },
			DeviceLoginExpired, "", []string{"expired", "expired_token", "AADSTS70019"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEmulator(t)
			d := newDeviceLogins(t, e, nil)
			lt := xdrLoginTenant(e)
			l := startLogin(t, d, lt)
			if l.State != DeviceLoginPending || l.UserCode == "" || l.VerificationURI == "" || !strings.Contains(l.Message, l.UserCode) ||
				!deviceLoginIDPattern.MatchString(l.ID) || l.Tenant != lt.Tenant || !l.ExpiresAt.After(l.CreatedAt) {
				t.Fatalf("Start = %+v", l)
			}
			if got, err := d.Get(lt.Tenant, l.ID); err != nil || got.State != DeviceLoginPending {
				t.Fatalf("Get before settling = %+v, %v", got, err)
			}
			if err := tt.settle(e, l.UserCode); err != nil {
				t.Fatal(err)
			}
			got := waitForState(t, d, strings.ToUpper(lt.Tenant), l.ID)
			if got.State != tt.want || got.Account != tt.wantAccount {
				t.Fatalf("login = %+v, want state %s account %q", got, tt.want, tt.wantAccount)
			}
			for _, w := range tt.wantDetail {
				if !strings.Contains(got.ErrorDetail, w) {
					t.Errorf("ErrorDetail = %q, want it to name %q", got.ErrorDetail, w)
				}
			}
			if strings.Contains(got.ErrorDetail, "Trace ID") {
				t.Errorf("ErrorDetail = %q holds Entra's trace lines", got.ErrorDetail)
			}
			if hasAlice := d.HasAccount(context.Background(), lt.Tenant, strings.ToUpper(identity.AliceUPN)); hasAlice != (tt.want == DeviceLoginCompleted) {
				t.Errorf("HasAccount(alice) = %v after %s", hasAlice, tt.want)
			}
		})
	}
}

func TestDeviceLoginExpiresUnanswered(t *testing.T) {
	e, err := emulator.Start(emulator.Options{DeviceCodeLifetime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	d := newDeviceLogins(t, e, nil)
	l := startLogin(t, d, xdrLoginTenant(e))
	if got := waitForState(t, d, l.Tenant, l.ID); got.State != DeviceLoginExpired {
		t.Fatalf("login = %+v, want expired", got)
	}
}

func TestDeviceLoginSignedInAccountTokens(t *testing.T) {
	// A 4-minute lifetime is within MSAL's 5-minute refresh margin, so
	// every silent call renews the token with the refresh token.
	e, err := emulator.Start(emulator.Options{TokenLifetime: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	d := newDeviceLogins(t, e, nil)
	lt := xdrLoginTenant(e)
	l := startLogin(t, d, lt)
	if err := e.Entra().ApproveDeviceCode(l.UserCode, identity.AliceUPN); err != nil {
		t.Fatal(err)
	}
	if got := waitForState(t, d, lt.Tenant, l.ID); got.State != DeviceLoginCompleted {
		t.Fatalf("login = %+v", got)
	}
	if got := d.Accounts(context.Background()); len(got) != 1 || got[0] != (Account{Tenant: lt.Tenant, UPN: identity.AliceUPN}) {
		t.Errorf("Accounts = %+v", got)
	}

	src := d.TokenSource(lt)
	before := e.TokenRequests()
	token, err := src.Token(accountContext(strings.ToUpper(identity.AliceUPN)))
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if got := e.TokenRequests() - before; got != 1 {
		t.Errorf("silent renewal made %d token requests, want 1 (refresh)", got)
	}
	if c, err := e.Entra().Verify(token); err != nil || c.UPN != identity.AliceUPN || c.Audience != identity.XDRResource {
		t.Fatalf("claims %+v, err %v", c, err)
	}

	t.Run("unknown account", func(t *testing.T) {
		_, err := src.Token(accountContext(identity.BobUPN))
		de := wantError(t, err, defender.KindFailedPrecondition, defender.ReasonAccountNotSignedIn)
		if !strings.Contains(de.Message, identity.BobUPN) || !strings.Contains(de.Message, lt.Tenant) {
			t.Errorf("Message = %q, want it to name the UPN and the tenant", de.Message)
		}
	})
	t.Run("no account in the context", func(t *testing.T) {
		_, err := src.Token(context.Background())
		wantError(t, err, defender.KindInternal, defender.ReasonInternal)
	})
	t.Run("another tenant's token source", func(t *testing.T) {
		other := lt
		other.Tenant = identity.SecondTenantDomain
		_, err := d.TokenSource(other).Token(accountContext(identity.AliceUPN))
		wantError(t, err, defender.KindFailedPrecondition, defender.ReasonAccountNotSignedIn)
	})
	t.Run("refresh token revoked", func(t *testing.T) {
		e.Entra().RevokeRefreshTokens(identity.AliceUPN)
		_, err := src.Token(accountContext(identity.AliceUPN))
		de := wantError(t, err, defender.KindFailedPrecondition, defender.ReasonSignInRequired)
		if !strings.Contains(de.Message, "AADSTS50173") {
			t.Errorf("Message = %q, want it to name AADSTS50173", de.Message)
		}
	})
}

func TestDeviceLoginPublicClientDisabled(t *testing.T) {
	e := startEmulator(t)
	d := newDeviceLogins(t, e, func(o *DeviceLoginsOptions) { o.ClientID = identity.ReadOnlyClientID })
	_, err := d.Start(context.Background(), xdrLoginTenant(e))
	de := wantError(t, err, defender.KindFailedPrecondition, defender.ReasonPublicClientDisabled)
	if !strings.Contains(de.Message, "AADSTS7000218") {
		t.Errorf("Message = %q, want it to name AADSTS7000218", de.Message)
	}
}

func TestDeviceLoginLimitsAndLookup(t *testing.T) {
	e := startEmulator(t)
	clock := &testClock{now: time.Now()}
	d := newDeviceLogins(t, e, func(o *DeviceLoginsOptions) {
		o.MaxPending, o.Retention, o.Now = 2, time.Minute, clock.Now
	})
	lt := xdrLoginTenant(e)
	first := startLogin(t, d, lt)
	startLogin(t, d, lt)
	_, err := d.Start(context.Background(), lt)
	wantError(t, err, defender.KindResourceExhausted, defender.ReasonTooManyDeviceLogins)

	// A finished login frees its slot and stays readable for Retention.
	if err := e.Entra().DeclineDeviceCode(first.UserCode); err != nil {
		t.Fatal(err)
	}
	waitForState(t, d, lt.Tenant, first.ID)
	startLogin(t, d, lt)
	clock.Advance(59 * time.Second)
	if _, err := d.Get(lt.Tenant, first.ID); err != nil {
		t.Errorf("Get within the retention: %v", err)
	}
	clock.Advance(time.Second)
	_, err = d.Get(lt.Tenant, first.ID)
	wantError(t, err, defender.KindNotFound, defender.ReasonDeviceLoginNotFound)

	for name, get := range map[string]func() error{
		"unknown id":   func() error { _, err := d.Get(lt.Tenant, "nosuchlogin"); return err },
		"other tenant": func() error { _, err := d.Get(identity.SecondTenantDomain, first.ID); return err },
	} {
		t.Run(name, func(t *testing.T) { wantError(t, get(), defender.KindNotFound, defender.ReasonDeviceLoginNotFound) })
	}
}

func TestDeviceLoginCloseStopsPollers(t *testing.T) {
	e := startEmulator(t)
	d := newDeviceLogins(t, e, nil)
	lt := xdrLoginTenant(e)
	l := startLogin(t, d, lt)
	done := make(chan struct{})
	go func() { d.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a login was pending")
	}
	got, err := d.Get(lt.Tenant, l.ID)
	if err != nil || got.State != DeviceLoginFailed {
		t.Errorf("after Close: %+v, %v; want failed", got, err)
	}
	_, err = d.Start(context.Background(), lt)
	wantError(t, err, defender.KindUnavailable, defender.ReasonUnavailable)
	d.Close() // idempotent
}

func TestDeviceLoginsSurviveRestart(t *testing.T) {
	e, err := emulator.Start(emulator.Options{TokenLifetime: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	file := filepath.Join(t.TempDir(), "accounts.bin")
	key := make([]byte, UserCacheKeySize)
	for i := range key {
		key[i] = byte(i + 1)
	}
	withFile := func(k []byte) func(*DeviceLoginsOptions) {
		return func(o *DeviceLoginsOptions) { o.CacheFile, o.CacheKey = file, k }
	}
	lt := xdrLoginTenant(e)
	carolTenant := LoginTenant{Tenant: identity.SecondTenantID, AuthorityHost: e.AuthorityHost(), Scope: identity.GraphResource + "/.default"}

	first, err := NewDeviceLogins(DeviceLoginsOptions{ClientID: identity.ClientID, HTTPClient: e.HTTPClient(), CacheFile: file, CacheKey: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, sign := range []struct {
		lt  LoginTenant
		upn string
	}{{lt, identity.AliceUPN}, {carolTenant, identity.CarolUPN}} {
		l := startLogin(t, first, sign.lt)
		if err := e.Entra().ApproveDeviceCode(l.UserCode, sign.upn); err != nil {
			t.Fatal(err)
		}
		if got := waitForState(t, first, sign.lt.Tenant, l.ID); got.State != DeviceLoginCompleted {
			t.Fatalf("login = %+v", got)
		}
	}
	first.Close()

	info, err := os.Stat(file)
	if err != nil {
		t.Fatalf("the cache file was not written: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode = %v, want 0600", info.Mode().Perm())
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"0.emulator.", "refresh_token", "RefreshToken", identity.AliceUPN, "secret"} {
		if strings.Contains(strings.ToLower(string(raw)), strings.ToLower(plain)) {
			t.Errorf("the cache file holds %q in plaintext", plain)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
		t.Errorf("the cache directory holds %d files, want 1 (no temporary files left)", len(entries))
	}

	second := newDeviceLogins(t, e, withFile(key))
	accounts := second.Accounts(context.Background())
	if len(accounts) != 2 || !second.HasAccount(context.Background(), lt.Tenant, identity.AliceUPN) ||
		!second.HasAccount(context.Background(), carolTenant.Tenant, identity.CarolUPN) {
		t.Fatalf("after restart: Accounts = %+v", accounts)
	}
	before := e.TokenRequests()
	token, err := second.TokenSource(lt).Token(accountContext(identity.AliceUPN))
	if err != nil {
		t.Fatalf("silent Token after restart: %v", err)
	}
	if got := e.TokenRequests() - before; got != 1 {
		t.Errorf("renewal after restart made %d token requests, want 1 (with the persisted refresh token)", got)
	}
	if c, err := e.Entra().Verify(token); err != nil || c.UPN != identity.AliceUPN {
		t.Errorf("claims %+v, err %v", c, err)
	}

	t.Run("wrong key", func(t *testing.T) {
		wrong := append([]byte(nil), key...)
		wrong[0] ^= 0xff
		_, err := NewDeviceLogins(DeviceLoginsOptions{ClientID: identity.ClientID, CacheFile: file, CacheKey: wrong})
		if err == nil || !strings.Contains(err.Error(), "cannot be decrypted") || !strings.Contains(err.Error(), file) {
			t.Errorf("err = %v, want a decryption error naming the file", err)
		}
	})
}

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
