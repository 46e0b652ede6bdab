package entra

import (
	"crypto/x509"
	"slices"
	"strings"
	"sync"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
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
	// Delegated maps an API resource to the delegated permissions consented
	// for the app in ConsentedTenants, issued as the `scp` of user tokens.
	Delegated map[string][]string
	// PublicClient allows public client flows (device code, and refresh
	// without a client credential).
	PublicClient bool
	// IdentifierURIs are the app ID URIs of the API the app exposes (e.g.
	// api://<client id>); tokens for them are v2.0 with aud = ClientID.
	IdentifierURIs []string
}

// Registry holds tenants and app registrations. It is safe for concurrent
// use; lookups return copies so callers cannot mutate shared state.
type Registry struct {
	mu      sync.RWMutex
	tenants []Tenant
	apps    map[string]App
	users   []identity.User
}

// NewRegistry returns a registry of the given tenants, apps and users. A
// later app with the same ClientID replaces an earlier one.
func NewRegistry(tenants []Tenant, apps []App, users []identity.User) *Registry {
	r := &Registry{apps: make(map[string]App, len(apps)), users: slices.Clone(users)}
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

// User finds a user by UPN (case-insensitive).
func (r *Registry) User(upn string) (identity.User, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, u := range r.users {
		if strings.EqualFold(u.UPN, upn) {
			return u, true
		}
	}
	return identity.User{}, false
}

// UsersOf returns the users of tenantID.
func (r *Registry) UsersOf(tenantID string) []identity.User {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []identity.User
	for _, u := range r.users {
		if u.TenantID == tenantID {
			out = append(out, u)
		}
	}
	return out
}

// APIApp returns the app that exposes resource as one of its IdentifierURIs.
func (r *Registry) APIApp(resource string) (App, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, a := range r.apps {
		if slices.Contains(a.IdentifierURIs, resource) {
			return cloneApp(a), true
		}
	}
	return App{}, false
}

func cloneApp(a App) App {
	a.Certificates = slices.Clone(a.Certificates)
	a.ConsentedTenants = slices.Clone(a.ConsentedTenants)
	roles := make(map[string][]string, len(a.Roles))
	for res, rs := range a.Roles {
		roles[res] = slices.Clone(rs)
	}
	a.Roles = roles
	delegated := make(map[string][]string, len(a.Delegated))
	for res, ps := range a.Delegated {
		delegated[res] = slices.Clone(ps)
	}
	a.Delegated = delegated
	a.IdentifierURIs = slices.Clone(a.IdentifierURIs)
	return a
}

// tenantIDs returns the tenant IDs in registration order.
func (r *Registry) tenantIDs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]string, len(r.tenants))
	for i, t := range r.tenants {
		ids[i] = t.ID
	}
	return ids
}
