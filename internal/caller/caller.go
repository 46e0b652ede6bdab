package caller

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Metadata keys (gRPC) and HTTP headers (REST) a caller uses; REST headers
// are forwarded to gRPC metadata under the same lower-case names.
const (
	// HeaderAPIKey carries the caller's API key in api-key mode.
	HeaderAPIKey = "x-api-key"
	// HeaderAccount names a device-code signed-in account (its UPN) to use
	// the user context with.
	HeaderAccount = "x-defender-account"
	// HeaderAuthorization carries "Bearer <token>": the caller's token in
	// jwt mode, and in every mode a user token presented for on-behalf-of.
	HeaderAuthorization = "authorization"
)

// Kind is how a caller was authenticated.
type Kind string

// The caller kinds.
const (
	KindAnonymous   Kind = "anonymous" // caller auth none
	KindCertificate Kind = "mtls"      // a client certificate
	KindAPIKey      Kind = "api-key"   // an API key from the keys file
	KindApp         Kind = "app"       // an Entra app token (jwt mode)
	KindUser        Kind = "user"      // an Entra user token (jwt mode)
)

// Identity is an authenticated caller.
type Identity struct {
	Kind Kind
	// Name is the identity as the authorization policy names it, built
	// only from immutable values: "anonymous", "mtls:<URI SAN or
	// subject>", "api-key:<key name>", "app:<client id>" or
	// "user:<tenant id>/<object id>" (lower case).
	Name string
	// Display is a readable name for people (audit records, WhoAmI, logs):
	// a user's UPN. It may change and be reassigned, so it never
	// identifies a caller; empty when Name is readable enough.
	Display string
}

// UserToken is a validated Entra user access token that the caller
// presented for the gateway's own app; it selects the user context through
// on-behalf-of. Raw is the token itself: it is sent only to Entra ID as the
// on-behalf-of assertion, and never printed.
type UserToken struct {
	Raw string
	// Tenant is the token's tid; ObjectID its oid; UPN its upn or
	// preferred_username.
	Tenant, ObjectID, UPN string
	// ServedTenant is the tenant as the gateway is configured with it (the
	// home tenant or a partner tenant, a GUID or a domain) that tid matched.
	ServedTenant string
	// ClientID is the app the user signed in with (azp or appid).
	ClientID string
	// Scopes are the token's delegated scopes (scp).
	Scopes []string
	Expiry time.Time
}

// String describes the token without the token.
func (u *UserToken) String() string {
	if u == nil {
		return "<nil>"
	}
	return "user token of " + u.UPN + " (tenant " + u.Tenant + ")"
}

// GoString is String, so %#v prints no token either.
func (u *UserToken) GoString() string { return u.String() }

// LogValue logs the token's identity, never the token.
func (u *UserToken) LogValue() slog.Value {
	if u == nil {
		return slog.Value{}
	}
	return slog.GroupValue(slog.String("upn", u.UPN), slog.String("tenant", u.Tenant), slog.Time("expiry", u.Expiry))
}

// Request is the caller of one call and what it asked for.
type Request struct {
	Identity Identity
	// UserToken is set when the caller presented a valid user token; the
	// call then runs in the user context (on-behalf-of).
	UserToken *UserToken
	// Account is the signed-in account the caller named (HeaderAccount);
	// the call then runs in the user context as that account.
	Account string
	// AllowedOperations lists, for a tenant, the operations the policy
	// allows this caller there; nil when no policy applies.
	AllowedOperations func(tenant string) []string
	// AuthorizeTenant decides this call's method in another tenant by the
	// policy that authorized the call: nil when allowed, else the denial.
	// A call on `tenants/-` checks each tenant it reads with it. Nil when no
	// policy applies.
	AuthorizeTenant func(tenant string) error

	trace Trace
}

// UsesUserContext reports whether the request selects the user context.
func (r *Request) UsesUserContext() bool { return r.UserToken != nil || r.Account != "" }

// Trace is what serving the call decided, for the audit log: the auth
// context and tenant that served it, and every tenant a call across
// tenants touched. It is safe for concurrent use.
type Trace struct {
	mu      sync.Mutex
	context string
	tenant  string
	touched []string
}

// AddTouched records a tenant (canonical) that a call across tenants read,
// or tried to; each is recorded once.
func (t *Trace) AddTouched(tenant string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, v := range t.touched {
		if v == tenant {
			return
		}
	}
	t.touched = append(t.touched, tenant)
}

// Touched returns the tenants AddTouched recorded, in order; nil for a
// call of one tenant.
func (t *Trace) Touched() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.touched...)
}

// SetTarget records the auth context (its name) and canonical tenant.
func (t *Trace) SetTarget(context, tenant string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.context, t.tenant = context, tenant
}

// Target returns what SetTarget recorded.
func (t *Trace) Target() (context, tenant string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.context, t.tenant
}

// Trace is the request's trace.
func (r *Request) Trace() *Trace { return &r.trace }

type key struct{}

// NewContext returns ctx carrying r.
func NewContext(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, key{}, r)
}

// FromContext returns the request's caller, or nil when none was set (a
// call that did not pass the caller-authentication interceptor).
func FromContext(ctx context.Context) *Request {
	r, _ := ctx.Value(key{}).(*Request)
	return r
}
