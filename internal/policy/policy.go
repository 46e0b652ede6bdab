package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// Policy is a compiled policy. It is immutable.
type Policy struct {
	byIdentity map[string]*grant
	canonical  CanonicalTenant
	// allowAll lets every caller do everything (caller auth none without a
	// policy file).
	allowAll bool
}

// AllowAll is the policy of caller authentication none without a policy
// file: every caller may do everything. Never use it with any other mode.
func AllowAll() *Policy { return &Policy{allowAll: true} }

// grant is what one policy entry allows.
type grant struct {
	identity           string
	allTenants         bool
	tenants            map[string]bool // canonical
	operations         map[Operation]bool
	requireUserContext bool
	allAccounts        bool
	accounts           map[string]bool // lower case
}

// Decision input: who calls, what the method requires, and the tenant the
// request names ("" for a method that names none).
type Check struct {
	Caller *caller.Request
	Rule   Rule
	Tenant string
}

// Authorize returns nil when the policy allows the call, else a
// *defender.Error of KindPermissionDenied whose message names the identity
// (with its display name), the operation and the tenant. The entry is
// found by the identity's Name only, never by its display name.
func (p *Policy) Authorize(c Check) error {
	if p.allowAll {
		return nil
	}
	op := string(c.Rule.Operation)
	if op == "" {
		op = "whoami"
	}
	g := p.byIdentity[c.Caller.Identity.Name]
	if g == nil {
		return deny(defender.ReasonOperationNotAllowed, "caller %s may not run %s in tenant %q: the policy has no entry for it", Who(c.Caller.Identity), op, c.Tenant)
	}
	return p.decide(g, c, op)
}

// Who names an identity in a message: its quoted Name, followed by its
// display name when it has one.
func Who(id caller.Identity) string {
	if id.Display == "" {
		return fmt.Sprintf("%q", id.Name)
	}
	return fmt.Sprintf("%q (%q)", id.Name, truncateDisplay(id.Display))
}

// truncateDisplay bounds a display name quoted in a message.
func truncateDisplay(s string) string {
	const maxShown = 120
	if r := []rune(s); len(r) > maxShown {
		return string(r[:maxShown]) + "…"
	}
	return s
}

func (p *Policy) decide(g *grant, c Check, op string) error {
	who := Who(c.Caller.Identity)
	// On the wildcard tenant the handler checks each tenant it reads.
	wildcard := c.Rule.Wildcard && c.Tenant == WildcardTenant
	if c.Rule.TenantScoped && !wildcard && !p.tenantAllowed(g, c.Tenant) {
		return deny(defender.ReasonCallerTenantNotAllowed, "caller %s may not use tenant %q (operation %s)", who, c.Tenant, op)
	}
	if c.Rule.Operation != "" && !g.operations[c.Rule.Operation] {
		return deny(defender.ReasonOperationNotAllowed, "caller %s may not run %s in tenant %q", who, op, c.Tenant)
	}
	if g.requireUserContext && callsDefender[c.Rule.Operation] && !c.Caller.UsesUserContext() {
		return deny(defender.ReasonUserContextRequired, "caller %s must run %s in tenant %q in the user context: present a user token or name a signed-in account", who, op, c.Tenant)
	}
	if c.Caller.Account != "" && !g.allAccounts && !g.accounts[strings.ToLower(c.Caller.Account)] {
		return deny(defender.ReasonAccountNotAllowed, "caller %s may not use the signed-in account %q (operation %s, tenant %q)", who, c.Caller.Account, op, c.Tenant)
	}
	return nil
}

func (p *Policy) tenantAllowed(g *grant, tenant string) bool {
	if g.allTenants {
		return true
	}
	canonical, ok := p.canonical(tenant)
	return ok && g.tenants[canonical]
}

func deny(reason, format string, args ...any) error {
	return defender.Errorf(defender.KindPermissionDenied, reason, format, args...)
}

// AllowedOperations returns the operations the policy allows the identity
// in a tenant, sorted; with AllowAll, every operation.
func (p *Policy) AllowedOperations(id caller.Identity, tenant string) []string {
	g := p.byIdentity[id.Name]
	if !p.allowAll && (g == nil || !p.tenantAllowed(g, tenant)) {
		return []string{}
	}
	out := []string{}
	for op := range operations {
		if p.allowAll || g.operations[op] {
			out = append(out, string(op))
		}
	}
	slices.Sort(out)
	return out
}
