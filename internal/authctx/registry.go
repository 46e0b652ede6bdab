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
	// TokenStatus, TokenStatusDetail and TokenCheckTime are filled by
	// CheckContexts only.
	TokenStatus       TokenStatus
	TokenStatusDetail string
	TokenCheckTime    time.Time
}

// Target is what serves one call.
type Target struct {
	Backend defender.Backend
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
		redirect:  opts.Partner.ConsentRedirectURI,
		clientID:  opts.Partner.ClientID,
	}, nil
}

// maxTenantInMessage bounds how much of a caller's tenant an error repeats.
const maxTenantInMessage = 100

// Resolve returns the target serving tenant, the {tenant} segment of a
// resource name. A tenant no context serves is a *defender.Error of
// KindPermissionDenied with ReasonTenantNotAllowed; resolving makes no token
// or upstream request.
func (r *Registry) Resolve(ctx context.Context, tenant string) (Target, error) {
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
// checking tokens.
func (r *Registry) Contexts() []Info {
	var infos []Info
	for _, res := range r.resolvers {
		for _, e := range res.entries() {
			infos = append(infos, e.info)
		}
	}
	return infos
}

// maxConcurrentChecks bounds the token checks CheckContexts runs at once.
const maxConcurrentChecks = 8

// CheckContexts is Contexts with each context's token status: whether its
// token source currently yields a token, asked on demand and cached for
// Options.StatusTTL. It returns no token.
func (r *Registry) CheckContexts(ctx context.Context) []Info {
	var entries []entry
	for _, res := range r.resolvers {
		entries = append(entries, res.entries()...)
	}
	infos := make([]Info, len(entries))
	sem := make(chan struct{}, maxConcurrentChecks)
	var wg sync.WaitGroup
	for i, e := range entries {
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
