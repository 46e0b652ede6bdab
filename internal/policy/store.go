package policy

import (
	"sync/atomic"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// Store holds the current policy and replaces it on Reload. It is safe for
// concurrent use.
type Store struct {
	path      string
	canonical CanonicalTenant
	current   atomic.Pointer[Policy]
}

// NewStore loads the policy file at path. An empty path makes a store of
// AllowAll, for caller authentication none only; Reload then does nothing.
func NewStore(path string, canonical CanonicalTenant) (*Store, error) {
	s := &Store{path: path, canonical: canonical}
	if path == "" {
		s.current.Store(AllowAll())
		return s, nil
	}
	p, err := LoadFile(path, canonical)
	if err != nil {
		return nil, err
	}
	s.current.Store(p)
	return s, nil
}

// StaticStore holds p for good; Reload does nothing. For tests and
// embedding.
func StaticStore(p *Policy) *Store {
	s := &Store{}
	s.current.Store(p)
	return s
}

// Reload re-reads the policy file. When it is invalid the current policy
// stays and the error is returned for the caller to log. Calls already
// authorized keep the policy they were authorized with.
func (s *Store) Reload() error {
	if s.path == "" {
		return nil
	}
	p, err := LoadFile(s.path, s.canonical)
	if err != nil {
		return err
	}
	s.current.Store(p)
	return nil
}

// Current returns the current policy.
func (s *Store) Current() *Policy { return s.current.Load() }

// Authorize decides a call of fullMethod with request req by the current
// policy, and sets r.AllowedOperations from that same policy. A method
// without a rule is denied (OPERATION_NOT_ALLOWED). A tenant-scoped request
// whose resource names no tenant is allowed no tenant but "*"; the
// validation that follows rejects it.
func (s *Store) Authorize(r *caller.Request, fullMethod string, req any) error {
	p := s.Current()
	rule, ok := MethodRule(fullMethod)
	if !ok {
		return deny(defender.ReasonOperationNotAllowed, "caller %q may not call %s: the method is not part of the API policy", r.Identity.Name, fullMethod)
	}
	_, tenant, _ := Resource(req)
	id := r.Identity
	r.AllowedOperations = func(t string) []string { return p.AllowedOperations(id, t) }
	// One tenant at a time: the wildcard is no tenant here.
	perTenant := rule
	perTenant.Wildcard = false
	r.AuthorizeTenant = func(t string) error { return p.Authorize(Check{Caller: r, Rule: perTenant, Tenant: t}) }
	return p.Authorize(Check{Caller: r, Rule: rule, Tenant: tenant})
}
