package authctx

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/defender-gateway/gateway/internal/defender"
)

// The partner context's kind and the prefix of its per-tenant names.
const (
	KindPartner       = "partner"
	partnerNamePrefix = "contexts/partner/tenants/"
)

// PartnerTenant is one allow-listed customer tenant with every default
// applied.
type PartnerTenant struct {
	// Tenant is the customer tenant as configured: a GUID or a domain.
	// Callers name it so, case-insensitively.
	Tenant        string
	DisplayName   string
	Backend       defender.BackendKind
	APIURL        string
	AuthorityHost string
	Scope         string
}

// PartnerContext is the partner context's configuration: the gateway's own
// multi-tenant app registration, authenticating with client credentials in
// each allow-listed customer tenant.
type PartnerContext struct {
	ClientID       string
	CredentialKind string
	Tenants        []PartnerTenant
	// ConsentRedirectURI is the redirect_uri of admin-consent URLs; empty
	// leaves it out (Entra then uses the app's default reply URL), and
	// Registry.ConsentURL refuses.
	ConsentRedirectURI string
	// NewTokens builds the token source of one tenant, with its own token
	// cache. It is called at most once per tenant, on first use.
	NewTokens func(PartnerTenant) (defender.TokenSource, error)
}

// partnerResolver serves the allow-listed tenants. Each tenant's token
// source and backend are built on first use.
type partnerResolver struct {
	tenants map[string]*partnerTenant // by lower-case tenant
	order   []*partnerTenant
}

// partnerTenant is one tenant and, once built, its target.
type partnerTenant struct {
	desc       Info
	cfg        PartnerTenant
	consentURL string // without redirect URI or state, for errors
	build      func(PartnerTenant, defender.TokenSource) (defender.Backend, error)
	newTokens  func(PartnerTenant) (defender.TokenSource, error)
	status     *statusCache

	mu     sync.Mutex
	built  bool
	tokens defender.TokenSource
	base   Target
	err    error
}

func newPartnerResolver(c PartnerContext, opts Options) (*partnerResolver, error) {
	if len(c.Tenants) == 0 {
		return &partnerResolver{tenants: map[string]*partnerTenant{}}, nil
	}
	if c.NewTokens == nil {
		return nil, errors.New("NewTokens is required")
	}
	p := &partnerResolver{tenants: make(map[string]*partnerTenant, len(c.Tenants))}
	build := func(t PartnerTenant, tokens defender.TokenSource) (defender.Backend, error) {
		return opts.NewBackend(t.Backend, defender.ClientOptions{
			BaseURL: t.APIURL, HTTPClient: opts.HTTPClient, Tokens: tokens, Logger: opts.Logger,
		})
	}
	for _, t := range c.Tenants {
		key := strings.ToLower(t.Tenant)
		switch {
		case t.Tenant == "":
			return nil, errors.New("a tenant is empty")
		case strings.EqualFold(t.Tenant, DefaultTenant):
			return nil, fmt.Errorf("tenant %q is reserved for the home tenant's alias", t.Tenant)
		case p.tenants[key] != nil:
			return nil, fmt.Errorf("tenant %q is listed twice", t.Tenant)
		}
		pt := &partnerTenant{
			desc: Info{
				Kind:           KindPartner,
				DisplayName:    t.DisplayName,
				ClientID:       c.ClientID,
				CredentialKind: c.CredentialKind,
				Backend:        t.Backend,
				APIURL:         t.APIURL,
				AuthorityHost:  t.AuthorityHost,
				Scope:          t.Scope,
			},
			cfg:        t,
			consentURL: AdminConsentURL(t.AuthorityHost, t.Tenant, c.ClientID, c.ConsentRedirectURI, ""),
			build:      build,
			newTokens:  c.NewTokens,
		}
		pt.status = newStatusCache(opts.StatusTTL, opts.Now, func() (defender.TokenSource, error) {
			_, tokens, err := pt.get()
			return tokens, err
		})
		p.tenants[key] = pt
		p.order = append(p.order, pt)
	}
	return p, nil
}

// get builds the tenant's token source and backend on first use.
func (p *partnerTenant) get() (Target, defender.TokenSource, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.built {
		p.built = true
		p.err = p.construct()
	}
	return p.base, p.tokens, p.err
}

func (p *partnerTenant) construct() error {
	inner, err := p.newTokens(p.cfg)
	if err != nil {
		return &defender.Error{Kind: defender.KindInternal, Reason: defender.ReasonInternal,
			Message: "internal error", Cause: fmt.Errorf("partner tenant %s: token source: %w", p.cfg.Tenant, err)}
	}
	tokens := consentTokens{TokenSource: inner, consentURL: p.consentURL}
	backend, err := p.build(p.cfg, tokens)
	if err != nil {
		return &defender.Error{Kind: defender.KindInternal, Reason: defender.ReasonInternal,
			Message: "internal error", Cause: fmt.Errorf("partner tenant %s: build %s backend: %w", p.cfg.Tenant, p.cfg.Backend, err)}
	}
	p.tokens = tokens
	p.base = Target{Backend: backend, Tokens: tokens}
	return nil
}

// info describes the tenant's context, the tenant named by id.
func (p *partnerTenant) info(id string) Info {
	d := p.desc
	d.Name, d.Tenant = partnerNamePrefix+id, id
	return d
}

// target serves the tenant, whose id is id, building it on first use.
func (p *partnerTenant) target(id string) (Target, error) {
	t, _, err := p.get()
	if err != nil {
		return Target{}, err
	}
	t.Tenant, t.Context = id, p.info(id)
	return t, nil
}
