package authctx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

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
	// HTTPClient makes every upstream API request.
	HTTPClient *http.Client
	// NewBackend builds backend clients; defender.NewBackend in production.
	NewBackend defender.BackendFactory
	Logger     *slog.Logger
}

// resolver serves the tenants of one auth context.
type resolver interface {
	// info describes the context.
	info() Info
	// resolve returns the target for tenant, or false when the context
	// does not serve it.
	resolve(ctx context.Context, tenant string) (Target, bool)
}

// Registry resolves tenants to auth contexts. It is safe for concurrent use.
type Registry struct {
	resolvers []resolver
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
	app, err := newAppResolver(opts.App, opts)
	if err != nil {
		return nil, fmt.Errorf("authctx: app context: %w", err)
	}
	return &Registry{resolvers: []resolver{app}}, nil
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
		if t, ok := res.resolve(ctx, tenant); ok {
			return t, nil
		}
	}
	shown := tenant
	if len(shown) > maxTenantInMessage {
		shown = shown[:maxTenantInMessage] + "..."
	}
	return Target{}, defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed,
		"tenant %q is not allowed: the app context serves only the gateway's home tenant (%q); partner tenants come with the partner context",
		shown, DefaultTenant)
}

// Contexts describes every auth context, in resolution order.
func (r *Registry) Contexts() []Info {
	infos := make([]Info, 0, len(r.resolvers))
	for _, res := range r.resolvers {
		infos = append(infos, res.info())
	}
	return infos
}
