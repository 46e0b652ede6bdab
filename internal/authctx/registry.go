package authctx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// DefaultTenant is the tenant segment that names the home tenant.
const DefaultTenant = "default"

// Info describes an auth context without any credential.
type Info struct {
	// Name is the context's resource name, e.g. "contexts/app".
	Name string
	// Kind is the context kind, e.g. "app".
	Kind           string
	Tenant         string
	ClientID       string
	CredentialKind string // "client_secret" or "certificate"
	Backend        defender.BackendKind
	APIURL         string
	AuthorityHost  string
	Scope          string
	// DisplayName is the configured name of a partner tenant.
	DisplayName string
	// Account is the signed-in account (UPN) of a device-code user context.
	Account string
	// TokenStatus, TokenStatusDetail and TokenCheckTime are filled by
	// CheckContexts only.
	TokenStatus       TokenStatus
	TokenStatusDetail string
	TokenCheckTime    time.Time
}

// Target is what serves one call.
type Target struct {
	Backend defender.Backend
	// Tokens is the token source the backend authenticates with.
	Tokens defender.TokenSource
	// Tenant is the canonical tenant for resource names: the configured one,
	// whatever alias the caller used.
	Tenant  string
	Context Info
}

// Options configure the registry.
type Options struct {
	App AppContext
	// Partner is the partner context; no tenants means none.
	Partner PartnerContext
	// User is the user context (on-behalf-of and signed-in accounts).
	User UserContext
	// StatusTTL is how long a token check is reused (default
	// DefaultStatusTTL); Now is the clock (default time.Now).
	StatusTTL time.Duration
	Now       func() time.Time
	// HTTPClient makes every upstream API request.
	HTTPClient *http.Client
	// NewBackend builds backend clients; defender.NewBackend in production.
	NewBackend defender.BackendFactory
	Logger     *slog.Logger
}

// resolver serves the tenants of one auth context.
type resolver interface {
	// entries describe the context: one entry per tenant it serves.
	entries() []entry
	// resolve returns the target for tenant, or false when the context
	// does not serve it; an error when it serves it but cannot build it.
	resolve(ctx context.Context, tenant string) (Target, bool, error)
}

// entry is one described context with its token check.
type entry struct {
	info   Info
	status *statusCache
}

// Registry resolves tenants to auth contexts. It is safe for concurrent use.
type Registry struct {
	resolvers []resolver
	partner   *partnerResolver
	user      *userResolver
	home      string
	redirect  string
	clientID  string
}

// New builds the registry and the backend of every context.
func New(opts Options) (*Registry, error) {
	if opts.NewBackend == nil {
		return nil, errors.New("authctx: NewBackend is required")
	}
	if opts.HTTPClient == nil {
		return nil, errors.New("authctx: HTTPClient is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.StatusTTL <= 0 {
		opts.StatusTTL = DefaultStatusTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	app, err := newAppResolver(opts.App, opts)
	if err != nil {
		return nil, fmt.Errorf("authctx: app context: %w", err)
	}
	partner, err := newPartnerResolver(opts.Partner, opts)
	if err != nil {
		return nil, fmt.Errorf("authctx: partner context: %w", err)
	}
	// A partner entry naming the home tenant would never be reached: the
	// app context is asked first.
	for _, t := range opts.Partner.Tenants {
		if strings.EqualFold(t.Tenant, opts.App.Tenant) {
			return nil, fmt.Errorf("authctx: partner context: tenant %q is the home tenant", t.Tenant)
		}
	}
	return &Registry{
		resolvers: []resolver{app, partner},
		partner:   partner,
		home:      opts.App.Tenant,
		user:      newUserResolver(opts.User, opts),
		redirect:  opts.Partner.ConsentRedirectURI,
		clientID:  opts.Partner.ClientID,
	}, nil
}

// maxTenantInMessage bounds how much of a caller's tenant an error repeats.
const maxTenantInMessage = 100

// Resolve returns the target serving tenant, the {tenant} segment of a
// resource name, in the auth context the call selects: the user context
// when its caller.Request presents a user token (on-behalf-of) or names a
// signed-in account, otherwise the tenant's app or partner context. A
// tenant no context serves is a *defender.Error of KindPermissionDenied
// with ReasonTenantNotAllowed; resolving makes no token or upstream
// request.
func (r *Registry) Resolve(ctx context.Context, tenant string) (Target, error) {
	base, err := r.resolveTenant(ctx, tenant)
	if err != nil {
		return Target{}, err
	}
	if req := caller.FromContext(ctx); req != nil && req.UsesUserContext() {
		return r.user.resolve(ctx, req, base)
	}
	return base, nil
}

// resolveTenant returns the app or partner target of tenant.
func (r *Registry) resolveTenant(ctx context.Context, tenant string) (Target, error) {
	if tenant == "" {
		return Target{}, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "the tenant is empty")
	}
	for _, res := range r.resolvers {
		if t, ok, err := res.resolve(ctx, tenant); ok || err != nil {
			return t, err
		}
	}
	return Target{}, notAllowed(tenant)
}

// Tenant returns how a served tenant is reached, whatever alias names it.
func (r *Registry) Tenant(ctx context.Context, tenant string) (TenantConfig, error) {
	t, err := r.resolveTenant(ctx, tenant)
	if err != nil {
		return TenantConfig{}, err
	}
	return tenantConfig(t), nil
}

// Canonical maps a tenant name or alias ("default", a configured GUID or
// domain, case-insensitively) to the tenant as configured, or false when
// the gateway does not serve it. It builds nothing and makes no request.
func (r *Registry) Canonical(tenant string) (string, bool) {
	if strings.EqualFold(tenant, DefaultTenant) || strings.EqualFold(tenant, r.home) {
		return r.home, true
	}
	if t, ok := r.partner.lookup(tenant); ok {
		return t.cfg.Tenant, true
	}
	return "", false
}

// ServedTenants lists every tenant the gateway serves, as configured: the
// home tenant first.
func (r *Registry) ServedTenants() []string {
	out := []string{r.home}
	for _, t := range r.partner.order {
		out = append(out, t.cfg.Tenant)
	}
	return out
}

func notAllowed(tenant string) *defender.Error {
	return defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed,
		"tenant %q is not allowed: the gateway serves its home tenant (%q) and the customer tenants on its partner allow-list",
		truncate(tenant), DefaultTenant)
}

// ConsentURL builds the admin-consent URL of an allow-listed partner tenant,
// with the configured redirect URI and state. A tenant not on the list is
// TENANT_NOT_ALLOWED; without a redirect URI it is FAILED_PRECONDITION
// NOT_CONFIGURED. It makes no request.
func (r *Registry) ConsentURL(tenant, state string) (ConsentLink, error) {
	t, ok := r.partner.lookup(tenant)
	if !ok {
		return ConsentLink{}, defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed,
			"tenant %q is not on the partner allow-list", truncate(tenant))
	}
	if r.redirect == "" {
		return ConsentLink{}, defender.Errorf(defender.KindFailedPrecondition, defender.ReasonNotConfigured,
			"no consent redirect URI is configured: set DEFENDER_CONSENT_REDIRECT_URI (--consent-redirect-uri) to a reply URL of the app registration")
	}
	return ConsentLink{
		URL:         AdminConsentURL(t.cfg.AuthorityHost, t.cfg.Tenant, r.clientID, r.redirect, state),
		RedirectURI: r.redirect,
	}, nil
}

func truncate(s string) string {
	if len(s) > maxTenantInMessage {
		return s[:maxTenantInMessage] + "..."
	}
	return s
}

// Contexts describes every auth context, in resolution order, without
// checking tokens: the app context, the partner tenants, then the user
// context (on-behalf-of and each signed-in account).
func (r *Registry) Contexts(ctx context.Context) []Info {
	var infos []Info
	for _, e := range r.entries(ctx) {
		infos = append(infos, e.info)
	}
	return infos
}

func (r *Registry) entries(ctx context.Context) []entry {
	var entries []entry
	for _, res := range r.resolvers {
		entries = append(entries, res.entries()...)
	}
	return append(entries, r.user.entries(ctx, func(t string) (Target, error) { return r.resolveTenant(ctx, t) })...)
}

// maxConcurrentChecks bounds the token checks CheckContexts runs at once.
const maxConcurrentChecks = 8

// CheckContexts is Contexts with each context's token status: whether its
// token source currently yields a token, asked on demand and cached for
// Options.StatusTTL. It returns no token. On-behalf-of is not checked: its
// token depends on each caller.
func (r *Registry) CheckContexts(ctx context.Context) []Info {
	entries := r.entries(ctx)
	infos := make([]Info, len(entries))
	sem := make(chan struct{}, maxConcurrentChecks)
	var wg sync.WaitGroup
	for i, e := range entries {
		if e.status == nil {
			infos[i] = e.info
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := e.status.check(ctx)
			info := e.info
			info.TokenStatus, info.TokenStatusDetail, info.TokenCheckTime = c.status, c.detail, c.at
			infos[i] = info
		}()
	}
	wg.Wait()
	return infos
}
