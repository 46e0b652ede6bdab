package authctx

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// The user context's kind and names.
const (
	KindUser = "user"
	// OnBehalfOfContextName names the user context of a presented user
	// token.
	OnBehalfOfContextName = "contexts/user/on-behalf-of"
	// accountNamePrefix starts the name of a signed-in account's context.
	accountNamePrefix = "contexts/user/accounts/"
	// CredentialUserSignIn is the credential kind of a signed-in account.
	CredentialUserSignIn = "user_sign_in"
)

// TenantConfig is how one served tenant (the home tenant or a partner
// tenant) is reached: its canonical name (its tenant id), backend and cloud.
type TenantConfig struct {
	Tenant        string
	Backend       defender.BackendKind
	APIURL        string
	AuthorityHost string
	Scope         string
}

// Account is a device-code signed-in account.
type Account struct {
	// Tenant is the tenant id; UPN the user's principal name.
	Tenant, UPN string
}

// Accounts are the accounts signed in by device code.
type Accounts interface {
	// TokenSource returns the tenant's token source; its Token takes the
	// account from the call's caller.Request.Account.
	TokenSource(t TenantConfig) defender.TokenSource
	// HasAccount reports whether upn is signed in in tenant.
	HasAccount(ctx context.Context, tenant, upn string) bool
	// List lists the signed-in accounts.
	List(ctx context.Context) []Account
}

// UserContext configures the user context: on-behalf-of with a presented
// user token, and device-code signed-in accounts.
type UserContext struct {
	// ClientID and CredentialKind describe the gateway's app registration,
	// which on-behalf-of authenticates with.
	ClientID       string
	CredentialKind string
	// NewOnBehalfOf builds the on-behalf-of token source of one tenant; its
	// Token takes the user's token from the call's caller.Request. It is
	// called at most once per tenant. Nil disables on-behalf-of.
	NewOnBehalfOf func(TenantConfig) (defender.TokenSource, error)
	// Accounts serves signed-in accounts; nil disables them.
	Accounts Accounts
}

// userResolver turns a tenant's target into the user context's target when
// the caller selects the user context.
type userResolver struct {
	cfg        UserContext
	newBackend func(TenantConfig, defender.TokenSource) (defender.Backend, error)
	statusOpts Options

	mu       sync.Mutex
	backends map[string]userBackend // by kind and lower-case tenant
	statuses map[string]*statusCache
}

type userBackend struct {
	backend defender.Backend
	tokens  defender.TokenSource
}

func newUserResolver(c UserContext, opts Options) *userResolver {
	return &userResolver{
		cfg: c,
		newBackend: func(t TenantConfig, tokens defender.TokenSource) (defender.Backend, error) {
			return opts.NewBackend(t.Backend, defender.ClientOptions{
				BaseURL: t.APIURL, HTTPClient: opts.HTTPClient, Tokens: tokens, Logger: opts.Logger,
			})
		},
		statusOpts: opts,
		backends:   map[string]userBackend{},
		statuses:   map[string]*statusCache{},
	}
}

// tenantConfig is the reach of a resolved app or partner target.
func tenantConfig(t Target) TenantConfig {
	return TenantConfig{
		Tenant:        t.Tenant,
		Backend:       t.Context.Backend,
		APIURL:        t.Context.APIURL,
		AuthorityHost: t.Context.AuthorityHost,
		Scope:         t.Context.Scope,
	}
}

// resolve returns the user context's target for the tenant of base, as
// req selects it: its user token (on-behalf-of) or a signed-in account.
func (u *userResolver) resolve(ctx context.Context, req *caller.Request, base Target) (Target, error) {
	tc := tenantConfig(base)
	switch {
	case req.UserToken != nil && req.Account != "":
		return Target{}, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument,
			"the call presents both a user token and %s; send one of them", caller.HeaderAccount)
	case req.UserToken != nil:
		return u.onBehalfOf(req.UserToken, tc, base)
	default:
		return u.account(ctx, req.Account, tc, base)
	}
}

func (u *userResolver) onBehalfOf(tok *caller.UserToken, tc TenantConfig, base Target) (Target, error) {
	if u.cfg.NewOnBehalfOf == nil {
		return Target{}, defender.Errorf(defender.KindFailedPrecondition, defender.ReasonNotConfigured,
			"the user context (on-behalf-of) is not configured")
	}
	// tc.Tenant is the tenant id, as the token's tid.
	if !strings.EqualFold(tok.Tenant, tc.Tenant) {
		return Target{}, defender.Errorf(defender.KindPermissionDenied, defender.ReasonUserTenantMismatch,
			"the user token belongs to tenant %q, not to %q: a user acts only in their own tenant", tok.Tenant, tc.Tenant)
	}
	b, err := u.backend("obo", tc, func() (defender.TokenSource, error) { return u.cfg.NewOnBehalfOf(tc) })
	if err != nil {
		return Target{}, err
	}
	return Target{Backend: b.backend, Tokens: b.tokens, Tenant: tc.Tenant, Context: Info{
		Name:           OnBehalfOfContextName,
		Kind:           KindUser,
		Tenant:         tc.Tenant,
		ClientID:       u.cfg.ClientID,
		CredentialKind: u.cfg.CredentialKind,
		Backend:        tc.Backend,
		APIURL:         tc.APIURL,
		AuthorityHost:  tc.AuthorityHost,
		Scope:          tc.Scope,
		DisplayName:    base.Context.DisplayName,
		Account:        tok.UPN,
	}}, nil
}

func (u *userResolver) account(ctx context.Context, upn string, tc TenantConfig, base Target) (Target, error) {
	if u.cfg.Accounts == nil {
		return Target{}, defender.Errorf(defender.KindFailedPrecondition, defender.ReasonNotConfigured,
			"device-code sign-in is not configured")
	}
	if !u.cfg.Accounts.HasAccount(ctx, tc.Tenant, upn) {
		return Target{}, defender.Errorf(defender.KindFailedPrecondition, defender.ReasonAccountNotSignedIn,
			"account %q is not signed in in tenant %q: sign it in with AuthService.StartDeviceLogin", truncate(upn), tc.Tenant)
	}
	b, err := u.backend("account", tc, func() (defender.TokenSource, error) { return u.cfg.Accounts.TokenSource(tc), nil })
	if err != nil {
		return Target{}, err
	}
	info := u.accountInfo(tc, upn)
	info.DisplayName = base.Context.DisplayName
	return Target{Backend: b.backend, Tokens: b.tokens, Tenant: tc.Tenant, Context: info}, nil
}

func (u *userResolver) accountInfo(tc TenantConfig, upn string) Info {
	return Info{
		Name:           accountNamePrefix + strings.ToLower(upn),
		Kind:           KindUser,
		Tenant:         tc.Tenant,
		ClientID:       u.cfg.ClientID,
		CredentialKind: CredentialUserSignIn,
		Backend:        tc.Backend,
		APIURL:         tc.APIURL,
		AuthorityHost:  tc.AuthorityHost,
		Scope:          tc.Scope,
		Account:        upn,
	}
}

// backend returns the tenant's backend of a kind of user context, building
// it on first use; one backend serves every user of the tenant, since its
// token source reads the user from each call.
func (u *userResolver) backend(kind string, tc TenantConfig, tokens func() (defender.TokenSource, error)) (userBackend, error) {
	key := kind + "|" + strings.ToLower(tc.Tenant)
	u.mu.Lock()
	defer u.mu.Unlock()
	if b, ok := u.backends[key]; ok {
		return b, nil
	}
	src, err := tokens()
	if err != nil {
		return userBackend{}, &defender.Error{Kind: defender.KindInternal, Reason: defender.ReasonInternal,
			Message: "internal error", Cause: fmt.Errorf("user context %s for tenant %s: token source: %w", kind, tc.Tenant, err)}
	}
	backend, err := u.newBackend(tc, src)
	if err != nil {
		return userBackend{}, &defender.Error{Kind: defender.KindInternal, Reason: defender.ReasonInternal,
			Message: "internal error", Cause: fmt.Errorf("user context %s for tenant %s: build %s backend: %w", kind, tc.Tenant, tc.Backend, err)}
	}
	b := userBackend{backend: backend, tokens: src}
	u.backends[key] = b
	return b, nil
}

// entries describe the user context: on-behalf-of when enabled (its token
// depends on each caller, so it is not checked), then each signed-in
// account, checked through a silent token request.
func (u *userResolver) entries(ctx context.Context, tenants func(string) (Target, error)) []entry {
	var out []entry
	if u.cfg.NewOnBehalfOf != nil {
		out = append(out, entry{info: Info{
			Name: OnBehalfOfContextName, Kind: KindUser, ClientID: u.cfg.ClientID, CredentialKind: u.cfg.CredentialKind,
			TokenStatusDetail: "each call uses the token of the user the caller presents",
		}})
	}
	if u.cfg.Accounts == nil {
		return out
	}
	for _, a := range u.cfg.Accounts.List(ctx) {
		base, err := tenants(a.Tenant)
		if err != nil {
			continue // a tenant no longer served
		}
		tc := tenantConfig(base)
		out = append(out, entry{info: u.accountInfo(tc, a.UPN), status: u.accountStatus(tc, a.UPN)})
	}
	return out
}

// accountStatus is the cached token check of one signed-in account.
func (u *userResolver) accountStatus(tc TenantConfig, upn string) *statusCache {
	key := strings.ToLower(tc.Tenant) + "|" + strings.ToLower(upn)
	u.mu.Lock()
	defer u.mu.Unlock()
	if s, ok := u.statuses[key]; ok {
		return s
	}
	src := u.cfg.Accounts.TokenSource(tc)
	s := newStatusCache(u.statusOpts.StatusTTL, u.statusOpts.Now, func() (defender.TokenSource, error) {
		return accountTokens{inner: src, upn: upn}, nil
	})
	u.statuses[key] = s
	return s
}

// accountTokens asks a tenant's account token source for one account,
// outside any call (for the token status).
type accountTokens struct {
	inner defender.TokenSource
	upn   string
}

func (a accountTokens) Token(ctx context.Context) (string, error) {
	return a.inner.Token(caller.NewContext(ctx, &caller.Request{Account: a.upn}))
}
