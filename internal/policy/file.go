package policy

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/defender-gateway/gateway/internal/yamlstrict"
)

// Wildcard in tenants means every tenant the gateway serves; in accounts,
// any signed-in account.
const Wildcard = "*"

// CanonicalTenant maps a tenant name, as a request may give it ("default",
// a tenant id or a domain), to one key per tenant the gateway serves, so
// that an entry and a request naming one tenant differently match; ok is
// false for a tenant the gateway does not serve (or whose id could not be
// looked up at the authority). In the gateway it is authctx's
// Registry.Canonical.
type CanonicalTenant func(tenant string) (canonical string, ok bool)

// file is the YAML policy file.
type file struct {
	Callers []entry `yaml:"callers"`
}

// entry is one caller of the file.
type entry struct {
	Identity           string   `yaml:"identity"`
	Tenants            []string `yaml:"tenants"`
	Operations         []string `yaml:"operations"`
	RequireUserContext bool     `yaml:"require_user_context"`
	Accounts           []string `yaml:"accounts"`
}

// looksLikeUPN accepts user@domain.tld without spaces.
var looksLikeUPN = regexp.MustCompile(`^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)

// identityPattern is kind:name, as caller.Identity names callers (a
// certificate subject may hold spaces, as in CN=x,O=Contoso SOC), or
// "anonymous".
var identityPattern = regexp.MustCompile(`^(anonymous|(mtls|api-key|app|user):\S(.*\S)?)$`)

// userPattern is the one way an entry names a user: user:{tenant id}/{object
// id}, both GUIDs, the immutable key Entra ID gives every user. A UPN is
// mutable and can be reassigned to another person, so it never matches.
var userPattern = regexp.MustCompile(`^user:` + guid + `/` + guid + `$`)

const guid = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`

// LoadFile reads and compiles a policy file. The errors name the file, the
// entry and the field.
func LoadFile(path string, canonical CanonicalTenant) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	p, err := Parse(data, canonical)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	return p, nil
}

// Parse compiles a policy from YAML. Unknown keys, unknown operations,
// duplicate identities, empty tenant or operation lists and tenants the
// gateway does not serve are errors.
func Parse(data []byte, canonical CanonicalTenant) (*Policy, error) {
	if canonical == nil {
		return nil, errors.New("no tenant canonicalizer")
	}
	var f file
	if err := yamlstrict.Decode(data, &f); err != nil {
		if errors.Is(err, yamlstrict.ErrEmpty) {
			return nil, errors.New("is empty; it must list callers")
		}
		return nil, err
	}
	if len(f.Callers) == 0 {
		return nil, errors.New("callers: is empty; list at least one caller (the gateway denies by default)")
	}
	p := &Policy{byIdentity: make(map[string]*grant, len(f.Callers)), canonical: canonical}
	var errs []error
	for i, e := range f.Callers {
		g, err := compile(e, canonical)
		if err != nil {
			errs = append(errs, fmt.Errorf("callers[%d] (%s): %w", i, e.Identity, err))
			continue
		}
		if _, dup := p.byIdentity[g.identity]; dup {
			errs = append(errs, fmt.Errorf("callers[%d] (%s): identity: duplicate; an identity has one entry", i, e.Identity))
			continue
		}
		p.byIdentity[g.identity] = g
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// compile checks one entry and turns it into a grant.
func compile(e entry, canonical CanonicalTenant) (*grant, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	g := &grant{
		identity:           strings.TrimSpace(e.Identity),
		tenants:            map[string]bool{},
		operations:         map[Operation]bool{},
		requireUserContext: e.RequireUserContext,
		accounts:           map[string]bool{},
	}
	isUser := strings.HasPrefix(g.identity, "user:")
	if isUser || strings.HasPrefix(g.identity, "app:") {
		// GUIDs are compared without case.
		g.identity = strings.ToLower(g.identity)
	}
	switch {
	case !identityPattern.MatchString(g.identity):
		add("identity: %q is not anonymous or kind:name (mtls:, api-key:, app:, user:)", e.Identity)
	case isUser && !userPattern.MatchString(g.identity):
		add("identity: %q: users are matched by tenant id and object id only, never by UPN: write user:{tenant id}/{object id} (GUIDs; WhoAmI reports a caller's)", e.Identity)
	}
	if len(e.Tenants) == 0 {
		add(`tenants: is empty; list tenants or ["*"]`)
	}
	for _, t := range e.Tenants {
		t = strings.TrimSpace(t)
		if t == Wildcard {
			g.allTenants = true
			continue
		}
		c, ok := canonical(t)
		if !ok {
			add("tenants: %q is not a tenant the gateway serves (or its tenant id could not be looked up at the authority; name it as configured to need no lookup)", t)
			continue
		}
		g.tenants[c] = true
	}
	if g.allTenants && len(e.Tenants) > 1 {
		add(`tenants: "*" must stand alone`)
	}
	if len(e.Operations) == 0 {
		add("operations: is empty; list at least one of incidents.read, incidents.write, alerts.read, alerts.write, hunting.run, auth.admin, quota.read")
	}
	for _, o := range e.Operations {
		op := Operation(strings.TrimSpace(o))
		if !operations[op] {
			add("operations: %q is not an operation; use incidents.read, incidents.write, alerts.read, alerts.write, hunting.run, auth.admin or quota.read", o)
			continue
		}
		g.operations[op] = true
	}
	for _, a := range e.Accounts {
		a = strings.TrimSpace(a)
		switch {
		case a == Wildcard:
			g.allAccounts = true
		case looksLikeUPN.MatchString(a):
			g.accounts[strings.ToLower(a)] = true
		default:
			add(`accounts: %q is not a UPN (user@domain) or "*"`, a)
		}
	}
	return g, errors.Join(errs...)
}
