package app

import (
	"context"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/credentials"
)

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
