package entra

import (
	"crypto/x509"
	"slices"
	"strings"
	"sync"
)

// Tenant is a directory the authority knows.
type Tenant struct {
	// ID is the tenant GUID, the `tid` claim of its tokens.
	ID string
	// Domains are names that may stand for ID in an authority URL, such as
	// contoso.onmicrosoft.com. Compared case-insensitively.
	Domains []string
}

// App is an application registration with its credentials, application
// permissions and the tenants that consented to it.
type App struct {
	ClientID string
	// Name is the display name Entra quotes in consent errors.
	Name string
	// Secret is the client secret; "" disables secret authentication.
	Secret string
	// Certificates are the certificates whose keys may sign client assertions.
	Certificates []*x509.Certificate
	// Roles maps an API resource (token audience) to the application
	// permissions granted on it, issued as the token's `roles` claim.
	Roles map[string][]string
	// ConsentedTenants are the tenant IDs where an administrator consented to
	// the app. Tokens are only issued for these tenants.
	ConsentedTenants []string
}

// Registry holds tenants and app registrations. It is safe for concurrent
// use; lookups return copies so callers cannot mutate shared state.
type Registry struct {
	mu      sync.RWMutex
	tenants []Tenant
	apps    map[string]App
}

// NewRegistry returns a registry of the given tenants and apps. A later app
// with the same ClientID replaces an earlier one.
func NewRegistry(tenants []Tenant, apps []App) *Registry {
	r := &Registry{apps: make(map[string]App, len(apps))}
	for _, t := range tenants {
		r.tenants = append(r.tenants, Tenant{ID: t.ID, Domains: slices.Clone(t.Domains)})
	}
	for _, a := range apps {
		r.apps[a.ClientID] = cloneApp(a)
	}
	return r
}

// ResolveTenant maps a tenant ID or domain, as found in an authority URL, to
// the tenant ID. It reports false for an unknown tenant.
func (r *Registry) ResolveTenant(idOrDomain string) (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, t := range r.tenants {
		if strings.EqualFold(t.ID, idOrDomain) {
			return t.ID, true
		}
		for _, d := range t.Domains {
			if strings.EqualFold(d, idOrDomain) {
				return t.ID, true
			}
		}
	}
	return "", false
}

// App returns the registration of clientID.
func (r *Registry) App(clientID string) (App, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.apps[clientID]
	if !ok {
		return App{}, false
	}
	return cloneApp(a), true
}

// Consented reports whether tenantID has consented to clientID.
func (r *Registry) Consented(clientID, tenantID string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.apps[clientID]
	return ok && slices.Contains(a.ConsentedTenants, tenantID)
}

func cloneApp(a App) App {
	a.Certificates = slices.Clone(a.Certificates)
	a.ConsentedTenants = slices.Clone(a.ConsentedTenants)
	roles := make(map[string][]string, len(a.Roles))
	for res, rs := range a.Roles {
		roles[res] = slices.Clone(rs)
	}
	a.Roles = roles
	return a
}
