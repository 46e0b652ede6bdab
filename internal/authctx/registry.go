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
	// NewBackend builds backend clients; backends.New in production.
	NewBackend defender.BackendFactory
	Logger     *slog.Logger
}

// entry is one described context with its token check.
type entry struct {
	info   Info
	status *statusCache
}

// Registry resolves tenants to auth contexts. It is safe for concurrent use.
type Registry struct {
	app      *appResolver
	partner  *partnerResolver
	user     *userResolver
	tenants  *servedTenants
	redirect string
	clientID string
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
	home := &servedTenant{configured: opts.App.Tenant, authorityHost: opts.App.AuthorityHost}
	tenants := &servedTenants{home: home, all: []*servedTenant{home}, ids: newTenantIDs(opts.HTTPClient, opts.Now)}
	for _, p := range partner.order {
		tenants.all = append(tenants.all, &servedTenant{configured: p.cfg.Tenant, authorityHost: p.cfg.AuthorityHost, partner: p})
	}
	return &Registry{
		app:      app,
		partner:  partner,
		tenants:  tenants,
		user:     newUserResolver(opts.User, opts),
		redirect: opts.Partner.ConsentRedirectURI,
		clientID: opts.Partner.ClientID,
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

// resolveTenant returns the app or partner target of tenant, named by
// "default", its tenant id or a domain; the target's Tenant is the id.
func (r *Registry) resolveTenant(ctx context.Context, tenant string) (Target, error) {
	if tenant == "" {
		return Target{}, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "the tenant is empty")
	}
	st, id, err := r.tenants.resolve(ctx, tenant)
	if err != nil {
		return Target{}, err
	}
	if st.partner == nil {
		return r.app.target(id), nil
	}
	return st.partner.target(id)
}

// Tenant returns how a served tenant is reached, whatever alias names it.
func (r *Registry) Tenant(ctx context.Context, tenant string) (TenantConfig, error) {
	t, err := r.resolveTenant(ctx, tenant)
	if err != nil {
		return TenantConfig{}, err
	}
	return tenantConfig(t), nil
}

// canonicalTimeout bounds the lookups of one Canonical call.
const canonicalTimeout = 2 * lookupTimeout

// Canonical maps a tenant name ("default", a tenant id or a domain, as
// Resolve accepts them) to the served tenant as configured, one key per
// tenant whatever names it, or false when the gateway does not serve it
// or the lookup fails. The policy compares tenants by this key. It builds
// nothing and makes no token or API request; a name that is neither
// "default" nor a tenant as configured may need a discovery lookup.
func (r *Registry) Canonical(tenant string) (string, bool) {
	if t, ok := r.tenants.byName(tenant); ok {
		return t.configured, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), canonicalTimeout)
	defer cancel()
	t, _, err := r.tenants.resolve(ctx, tenant)
	if err != nil {
		return "", false
	}
	return t.configured, true
}

// ServedTenants lists every tenant the gateway serves, as configured: the
// home tenant first.
func (r *Registry) ServedTenants() []string {
	out := make([]string, 0, len(r.tenants.all))
	for _, t := range r.tenants.all {
		out = append(out, t.configured)
	}
	return out
}

func isNotAllowed(err error) bool {
	e, ok := defender.AsError(err)
	return ok && e.Reason == defender.ReasonTenantNotAllowed
}

func notAllowed(tenant string) *defender.Error {
	return defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed,
		"tenant %q is not allowed: the gateway serves its home tenant (%q) and the customer tenants on its partner allow-list",
		truncate(tenant), DefaultTenant)
}

// ConsentURL builds the admin-consent URL of an allow-listed partner tenant,
// named as Resolve accepts it, with the configured redirect URI and state.
// A tenant not on the list is TENANT_NOT_ALLOWED; without a redirect URI it
// is FAILED_PRECONDITION NOT_CONFIGURED. It makes no token or API request.
func (r *Registry) ConsentURL(ctx context.Context, tenant, state string) (ConsentLink, error) {
	st, _, err := r.tenants.resolve(ctx, tenant)
	if err != nil && !isNotAllowed(err) {
		return ConsentLink{}, err
	}
	if err != nil || st.partner == nil {
		return ConsentLink{}, defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed,
			"tenant %q is not on the partner allow-list", truncate(tenant))
	}
	t := st.partner
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

// entries describe every context, each tenant by its id; a configured
// domain whose id cannot be looked up now is shown as configured.
func (r *Registry) entries(ctx context.Context) []entry {
	var entries []entry
	for _, t := range r.tenants.all {
		id, err := r.tenants.id(ctx, t)
		if err != nil {
			id = r.tenants.canonical(t)
		}
		if t.partner == nil {
			entries = append(entries, entry{info: r.app.info(id), status: r.app.status})
		} else {
			entries = append(entries, entry{info: t.partner.info(id), status: t.partner.status})
		}
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
