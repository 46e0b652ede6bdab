package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// Accounts lists the signed-in accounts of every tenant, including those
// loaded from the cache file.
func (d *DeviceLogins) Accounts(ctx context.Context) []Account {
	var out []Account
	for _, tc := range d.knownClients(ctx) {
		accounts, err := tc.client.Accounts(ctx)
		if err != nil {
			d.logger.LogAttrs(ctx, slog.LevelWarn, "listing the signed-in accounts failed",
				slog.String("tenant", tc.tenant), slog.String("error", err.Error()))
			continue
		}
		for _, a := range accounts {
			out = append(out, Account{Tenant: tc.tenant, UPN: a.PreferredUsername})
		}
	}
	return out
}

// HasAccount reports whether upn (case-insensitive) is signed in in tenant.
func (d *DeviceLogins) HasAccount(ctx context.Context, tenant, upn string) bool {
	for _, a := range d.Accounts(ctx) {
		if strings.EqualFold(a.Tenant, tenant) && strings.EqualFold(a.UPN, upn) {
			return true
		}
	}
	return false
}

// knownClients returns the clients of every tenant used or held in the
// cache, building those of cached tenants not used yet.
func (d *DeviceLogins) knownClients(ctx context.Context) []*tenantClient {
	for _, t := range d.store.tenants(ctx) {
		if _, err := d.client(t.Tenant, t.AuthorityHost); err != nil {
			d.logger.Warn("a cached tenant's client cannot be built", "tenant", t.Tenant, "error", err.Error())
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*tenantClient, 0, len(d.clients))
	for _, c := range d.clients {
		out = append(out, c)
	}
	return out
}

// TokenSource returns t's token source for signed-in accounts: its Token
// takes the account from caller.FromContext(ctx).Account and renews its
// token silently (from MSAL's cache, or with the refresh token).
func (d *DeviceLogins) TokenSource(t LoginTenant) defender.TokenSource {
	return &accountTokens{logins: d, tenant: t}
}

// accountTokens is the token source of one tenant's signed-in accounts.
type accountTokens struct {
	logins *DeviceLogins
	tenant LoginTenant
}

// errNoAccount is the wiring bug of a call that names no account.
var errNoAccount = errors.New("credentials: the signed-in account token source was called without an account in the context")

// Token returns a token of the account the call names.
func (a *accountTokens) Token(ctx context.Context) (string, error) {
	req := caller.FromContext(ctx)
	if req == nil || req.Account == "" {
		return "", internalError(errNoAccount)
	}
	upn := req.Account
	key := "account:" + strings.ToLower(a.tenant.Tenant) + "|" + strings.ToLower(upn)
	return a.logins.shared.acquire(ctx, key, func(ctx context.Context) (string, error) {
		return a.silent(ctx, upn)
	})
}

// silent runs one silent acquisition for upn.
func (a *accountTokens) silent(ctx context.Context, upn string) (string, error) {
	tc, err := a.logins.client(a.tenant.Tenant, a.tenant.AuthorityHost)
	if err != nil {
		return "", internalError(fmt.Errorf("credentials: signed-in accounts of tenant %s: %w", a.tenant.Tenant, err))
	}
	accounts, err := tc.client.Accounts(ctx)
	if err != nil {
		return "", internalError(fmt.Errorf("credentials: list the accounts of tenant %s: %w", a.tenant.Tenant, err))
	}
	var account *public.Account
	for i := range accounts {
		if strings.EqualFold(accounts[i].PreferredUsername, upn) {
			account = &accounts[i]
			break
		}
	}
	if account == nil {
		return "", defender.Errorf(defender.KindFailedPrecondition, defender.ReasonAccountNotSignedIn,
			"account %q is not signed in in tenant %q: sign it in with a device login first", truncateID(upn), a.tenant.Tenant)
	}
	res, err := tc.client.AcquireTokenSilent(ctx, []string{a.tenant.Scope}, public.WithSilentAccount(*account))
	observeToken(a.logins.observer, err == nil && res.Metadata.TokenSource == public.TokenSourceIdentityProvider, err)
	if err != nil {
		m := tokenErrorMapper{timeout: a.logins.shared.timeout, tenant: a.tenant.Tenant}
		e := m.mapUserError(err, ctx.Err() != nil, flowSilent)
		a.logins.logger.LogAttrs(ctx, slog.LevelDebug, "silent renewal failed",
			slog.String("tenant", a.tenant.Tenant), slog.String("upn", upn), slog.String("reason", e.Reason),
			slog.Int("upstream_status", e.UpstreamStatus))
		return "", e
	}
	if res.Metadata.TokenSource == public.TokenSourceIdentityProvider {
		a.logins.logger.LogAttrs(ctx, slog.LevelDebug, "token renewed with the refresh token",
			slog.String("tenant", a.tenant.Tenant), slog.String("upn", upn), slog.Time("expires_on", res.ExpiresOn))
	}
	return res.AccessToken, nil
}
