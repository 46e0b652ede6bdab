package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// maxSubsetTenants is the most tenants a request's `tenants` may name.
const maxSubsetTenants = 50

// checkSubset refuses `tenants` on a call that is not on tenants/-.
func checkSubset(parent string, names []string) error {
	if len(names) > 0 && parent != wildcardParent {
		return fieldError("tenants", "may be set only when the tenant is tenants/-")
	}
	return nil
}

// fanoutSelect is the tenants of a call on tenants/-: with no names, every
// tenant the caller may use (fanoutTargets); else those names, in their
// order. Each name is `tenants/{tenant}` or the tenant alone, matched to a
// tenant the caller may use by its configured name or its resolved id. A
// malformed or repeated name is INVALID_ARGUMENT naming tenants[i]; one the
// caller may not use is PERMISSION_DENIED naming it. Only the chosen
// tenants are recorded as touched.
func fanoutSelect(ctx context.Context, resolver Resolver, lister TenantLister, names []string) ([]*fanoutTenant, error) {
	if len(names) == 0 {
		return fanoutTargets(ctx, resolver, lister)
	}
	if len(names) > maxSubsetTenants {
		return nil, fieldError("tenants", fmt.Sprintf("must name at most %d tenants", maxSubsetTenants))
	}
	wanted := make([]string, len(names))
	for i, n := range names {
		field := fmt.Sprintf("tenants[%d]", i)
		if !strings.HasPrefix(n, tenantsCollection+"/") {
			n = tenantsCollection + "/" + n
		}
		id, err := parseTenantName(field, n)
		if err != nil || id == "-" {
			return nil, fieldError(field, "must be tenants/{tenant} or {tenant}, where {tenant} is a tenant GUID, a domain or \"default\"")
		}
		wanted[i] = id
	}
	r := caller.FromContext(ctx)
	allowed := allowedTargets(ctx, resolver, lister)
	chosen := make([]*fanoutTenant, 0, len(wanted))
	picked := map[*fanoutTenant]int{}
	for i, id := range wanted {
		t := matchTenant(ctx, resolver, allowed, id)
		if t == nil {
			who := "the caller"
			if r != nil {
				who = "caller " + r.Identity.Name
			}
			return nil, defender.Errorf(defender.KindPermissionDenied, defender.ReasonCallerTenantNotAllowed,
				"tenants[%d]: %s may not make this call in tenant %q", i, who, id)
		}
		if j, dup := picked[t]; dup {
			return nil, fieldError(fmt.Sprintf("tenants[%d]", i), fmt.Sprintf("names the same tenant as tenants[%d]", j))
		}
		picked[t] = i
		chosen = append(chosen, t)
	}
	for _, t := range chosen {
		touch(r, t.state.Tenant)
	}
	return chosen, nil
}

// matchTenant is the tenant of allowed that id names: by its configured
// name or resolved id, or else by what id resolves to; nil for none.
func matchTenant(ctx context.Context, resolver Resolver, allowed []*fanoutTenant, id string) *fanoutTenant {
	for _, t := range allowed {
		if strings.EqualFold(t.configured, id) || strings.EqualFold(t.state.Tenant, id) {
			return t
		}
	}
	target, err := resolveTarget(ctx, resolver, id)
	if err != nil {
		return nil
	}
	for _, t := range allowed {
		if t.err == nil && t.target.Tenant == target.Tenant {
			return t
		}
	}
	return nil
}
