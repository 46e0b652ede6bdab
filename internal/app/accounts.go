package app

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/credentials"
)

// deviceLoginOptions are the device-code sign-ins' options: the cache file
// with DEFENDER_USER_CACHE_KEY, and in Redis mode the shared cache. Without
// a file the key only seals the copy in Redis (the credentials package
// refuses a file key without a file).
func deviceLoginOptions(cfg *config.Config, shared *sharedState, httpClient *http.Client, logger *slog.Logger) (credentials.DeviceLoginsOptions, error) {
	opts := credentials.DeviceLoginsOptions{
		ClientID:   cfg.ClientID,
		HTTPClient: httpClient,
		CacheFile:  cfg.UserCacheFile,
		Logger:     logger.With("component", "device-login"),
	}
	if cfg.UserCacheFile != "" {
		opts.CacheKey = cfg.UserCacheKey
	}
	err := shared.shareSignIns(cfg, &opts, logger)
	return opts, err
}

// deviceAccounts serves the device-code signed-in accounts to the auth
// contexts.
type deviceAccounts struct{ logins *credentials.DeviceLogins }

var _ authctx.Accounts = deviceAccounts{}

func loginTenant(t authctx.TenantConfig) credentials.LoginTenant {
	return credentials.LoginTenant{Tenant: t.Tenant, AuthorityHost: t.AuthorityHost, Scope: t.Scope}
}

func (d deviceAccounts) TokenSource(t authctx.TenantConfig) defender.TokenSource {
	return d.logins.TokenSource(loginTenant(t))
}

func (d deviceAccounts) HasAccount(ctx context.Context, tenant, upn string) bool {
	return d.logins.HasAccount(ctx, tenant, upn)
}

func (d deviceAccounts) List(ctx context.Context) []authctx.Account {
	var out []authctx.Account
	for _, a := range d.logins.Accounts(ctx) {
		out = append(out, authctx.Account{Tenant: a.Tenant, UPN: a.UPN})
	}
	return out
}
