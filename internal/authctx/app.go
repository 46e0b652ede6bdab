package authctx

import (
	"errors"
	"fmt"
	"strings"

	"github.com/defender-gateway/gateway/internal/defender"
)

// The application context's name and kind.
const (
	AppContextName = "contexts/app"
	KindApp        = "app"
)

// AppContext is the application context's configuration: the gateway's own
// app registration, authenticating with client credentials in its home
// tenant.
type AppContext struct {
	// Tenant is the home tenant as configured: a GUID or a domain.
	Tenant   string
	ClientID string
	Backend  defender.BackendKind
	APIURL   string
	// AuthorityHost and Scope are informational (the token source uses them).
	AuthorityHost  string
	Scope          string
	CredentialKind string
	// Tokens authenticates the backend's requests.
	Tokens defender.TokenSource
}

// appResolver serves the home tenant with one backend built at start.
type appResolver struct {
	desc    Info
	backend defender.Backend
	tokens  defender.TokenSource
	status  *statusCache
}

func newAppResolver(c AppContext, opts Options) (*appResolver, error) {
	var errs []error
	if c.Tenant == "" {
		errs = append(errs, errors.New("tenant is required"))
	}
	if strings.EqualFold(c.Tenant, DefaultTenant) {
		errs = append(errs, fmt.Errorf("tenant %q is reserved for the home tenant's alias", c.Tenant))
	}
	if c.Tokens == nil {
		errs = append(errs, errors.New("token source is required"))
	}
	if c.APIURL == "" {
		errs = append(errs, errors.New("API URL is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	backend, err := opts.NewBackend(c.Backend, defender.ClientOptions{
		BaseURL:    c.APIURL,
		HTTPClient: opts.HTTPClient,
		Tokens:     c.Tokens,
		Logger:     opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("build %s backend: %w", c.Backend, err)
	}
	return &appResolver{
		desc: Info{
			Name:           AppContextName,
			Kind:           KindApp,
			Tenant:         c.Tenant,
			ClientID:       c.ClientID,
			CredentialKind: c.CredentialKind,
			Backend:        c.Backend,
			APIURL:         c.APIURL,
			AuthorityHost:  c.AuthorityHost,
			Scope:          c.Scope,
		},
		backend: backend,
		tokens:  c.Tokens,
		status: newStatusCache(opts.StatusTTL, opts.Now, func() (defender.TokenSource, error) {
			return c.Tokens, nil
		}),
	}, nil
}

// info describes the context, its tenant named by id.
func (a *appResolver) info(id string) Info {
	d := a.desc
	d.Tenant = id
	return d
}

// target serves the home tenant, whose id is id.
func (a *appResolver) target(id string) Target {
	return Target{Backend: a.backend, Tokens: a.tokens, Tenant: id, Context: a.info(id)}
}
