package authctx

import (
	"context"
	"errors"
	"strings"

	"github.com/defender-gateway/gateway/internal/defender"
)

// servedTenant is one configured tenant: the home tenant or an allow-listed
// partner tenant.
type servedTenant struct {
	// configured is the tenant as configured: a GUID or a domain.
	configured    string
	authorityHost string
	// partner is the partner tenant; nil for the home tenant.
	partner *partnerTenant
}

// servedTenants maps the names a request may give a tenant onto the
// configured tenants, and gives each its canonical name: its tenant id.
//
// A request names a tenant by "default" (the home tenant), by its tenant
// id, or by a domain. A domain the tenant is configured as matches at
// once; any other domain is looked up at the authority (rate-bounded,
// cached) and matches the configured tenant with the same id. Configured
// domains are resolved on first use, never at start.
type servedTenants struct {
	home *servedTenant
	all  []*servedTenant // the home tenant first
	ids  *tenantIDs
}

// byName returns the configured tenant written as name (case-insensitive),
// or "default"'s home tenant; it makes no request.
func (s *servedTenants) byName(name string) (*servedTenant, bool) {
	if strings.EqualFold(name, DefaultTenant) {
		return s.home, true
	}
	for _, t := range s.all {
		if strings.EqualFold(t.configured, name) {
			return t, true
		}
	}
	return nil, false
}

// id returns the tenant id of a configured tenant, resolving a configured
// domain on first use.
func (s *servedTenants) id(ctx context.Context, t *servedTenant) (string, error) {
	id, err := s.ids.lookup(ctx, t.authorityHost, t.configured, true)
	if err != nil {
		return "", lookupError(t.configured, err, true)
	}
	return id, nil
}

// resolve returns the configured tenant that name stands for and its id. A
// name that stands for none is TENANT_NOT_ALLOWED; a lookup that cannot be
// made is UNAVAILABLE (TENANT_LOOKUP_FAILED) or RESOURCE_EXHAUSTED
// (TOO_MANY_TENANT_LOOKUPS). It makes no token or API request.
func (s *servedTenants) resolve(ctx context.Context, name string) (*servedTenant, string, error) {
	if t, ok := s.byName(name); ok {
		id, err := s.id(ctx, t)
		return t, id, err
	}
	var id string
	switch {
	case isGUID(name):
		id = strings.ToLower(name)
	case isDNSName(name):
		var err error
		if id, err = s.lookupRequested(ctx, name); err != nil {
			return nil, "", err
		}
	default:
		// Never looked up: the policy may ask before the request's names
		// are validated.
		return nil, "", notAllowed(name)
	}
	t, err := s.byID(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if t == nil {
		return nil, "", notAllowed(name)
	}
	return t, id, nil
}

// lookupRequested resolves a domain no tenant is configured as, at each
// distinct authority of the configured tenants (usually one).
func (s *servedTenants) lookupRequested(ctx context.Context, domain string) (string, error) {
	var hosts []string
	for _, t := range s.all {
		h := strings.ToLower(strings.TrimRight(t.authorityHost, "/"))
		if h != "" && !containsFold(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	var failure error
	for _, h := range hosts {
		id, err := s.ids.lookup(ctx, h, domain, false)
		switch {
		case err == nil:
			return id, nil
		case errors.Is(err, errUnknownTenant):
		default:
			failure = err
		}
	}
	if failure != nil {
		return "", lookupError(domain, failure, false)
	}
	return "", notAllowed(domain)
}

// byID returns the configured tenant whose id is id, resolving configured
// domains as needed, or nil when none is. When a configured domain cannot
// be resolved the answer is unknown: an error.
func (s *servedTenants) byID(ctx context.Context, id string) (*servedTenant, error) {
	var failure error
	for _, t := range s.all {
		got, err := s.id(ctx, t)
		if err != nil {
			failure = err
			continue
		}
		if got == id {
			return t, nil
		}
	}
	return nil, failure
}

// canonical returns the id of a configured tenant when it is known without
// a request, else the tenant as configured (only until its first
// resolution succeeds).
func (s *servedTenants) canonical(t *servedTenant) string {
	if id, ok := s.ids.cached(t.authorityHost, t.configured); ok {
		return id
	}
	return t.configured
}

// lookupError is the caller's status of a failed lookup of tenant.
func lookupError(tenant string, err error, configured bool) error {
	switch {
	case err == context.Canceled || err == context.DeadlineExceeded: //nolint:errorlint // the caller's own context, unwrapped
		return err
	case errors.Is(err, errLookupsLimited):
		return &defender.Error{Kind: defender.KindResourceExhausted, Reason: defender.ReasonTooManyTenantLookups,
			Message: "too many lookups of tenant domains; retry later, or name the tenant by its id or as the gateway is configured", Cause: err}
	case errors.Is(err, errUnknownTenant) && configured:
		return &defender.Error{Kind: defender.KindFailedPrecondition, Reason: defender.ReasonNotConfigured,
			Message: "the authority knows no tenant " + quote(tenant) + ", which the gateway is configured with", Cause: err}
	case errors.Is(err, errUnknownTenant):
		return notAllowed(tenant)
	default:
		return &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonTenantLookupFailed,
			Message: "the tenant id of " + quote(tenant) + " could not be looked up at the authority; retry later", Cause: err}
	}
}

// isDNSName accepts LDH labels of 1 to 63 characters, not starting or
// ending with a hyphen, at least two of them, at most 253 characters.
func isDNSName(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := range len(l) {
			if c := l[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func quote(s string) string { return `"` + truncate(s) + `"` }

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
