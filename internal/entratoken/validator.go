package entratoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Options configure a Validator.
type Options struct {
	// AuthorityHost is the Entra ID host, e.g.
	// https://login.microsoftonline.com (or the emulator's).
	AuthorityHost string
	// Audiences are the accepted aud values: the gateway's client id and
	// its app ID URI (api://<client id>), as the caller configures them.
	Audiences []string
	// Tenants are the tenants the gateway serves, as configured: GUIDs or
	// verified domains. The first one's discovery document names the key
	// set.
	Tenants []string
	// HTTPClient fetches discovery documents and keys; nil is
	// http.DefaultClient. Requests are bounded by 10s when it sets no
	// Timeout.
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Leeway is the clock skew allowed for exp and nbf (default 1m).
	Leeway time.Duration
}

// defaultLeeway is Options.Leeway's default.
const defaultLeeway = time.Minute

// v1IssuerPrefix starts the iss of Entra's v1.0 tokens (public cloud).
const v1IssuerPrefix = "https://sts.windows.net/"

// Validator validates tokens. It is safe for concurrent use.
type Validator struct {
	authorityHost string
	authority     *url.URL
	audiences     []string
	tenants       []string
	httpClient    *http.Client
	now           func() time.Time
	leeway        time.Duration

	// resolving serializes discovery requests; mu guards the fields below.
	resolving sync.Mutex
	mu        sync.Mutex
	resolved  map[string]string    // configured tenant (lower case) → tenant id
	failedAt  map[string]time.Time // configured tenant (lower case) → last failed resolution
	keys      *oidc.RemoteKeySet
	keysErrAt time.Time
}

// New checks opts and returns a Validator. It makes no request.
func New(opts Options) (*Validator, error) {
	host := strings.TrimRight(opts.AuthorityHost, "/")
	u, err := url.Parse(host)
	var errs []error
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		errs = append(errs, fmt.Errorf("authority host %q must be an absolute https URL without a path", opts.AuthorityHost))
	}
	if len(opts.Audiences) == 0 || slices.Contains(opts.Audiences, "") {
		errs = append(errs, errors.New("at least one audience is required, and none may be empty"))
	}
	if len(opts.Tenants) == 0 {
		errs = append(errs, errors.New("at least one tenant is required"))
	}
	for _, t := range opts.Tenants {
		if !validTenant(t) {
			errs = append(errs, fmt.Errorf("tenant %q must be a tenant GUID or a verified domain", t))
		}
	}
	if opts.Leeway < 0 {
		errs = append(errs, errors.New("leeway must not be negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("entratoken: %w", errors.Join(errs...))
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	if hc.Timeout == 0 {
		bounded := *hc
		bounded.Timeout = discoveryTimeout
		hc = &bounded
	}
	v := &Validator{
		authorityHost: host,
		authority:     u,
		audiences:     slices.Clone(opts.Audiences),
		tenants:       slices.Clone(opts.Tenants),
		httpClient:    hc,
		now:           opts.Now,
		leeway:        opts.Leeway,
		resolved:      map[string]string{},
		failedAt:      map[string]time.Time{},
	}
	if v.now == nil {
		v.now = time.Now
	}
	if opts.Leeway == 0 {
		v.leeway = defaultLeeway
	}
	for _, t := range v.tenants {
		if isGUID(t) {
			v.resolved[strings.ToLower(t)] = strings.ToLower(t)
		}
	}
	return v, nil
}

// validTenant accepts a GUID or a domain name; the multi-tenant aliases
// name no tenant.
func validTenant(t string) bool {
	switch strings.ToLower(t) {
	case "", "common", "organizations", "consumers":
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// Validate checks raw and returns its claims. A token that fails a check is
// an *Error; a token that could not be checked because the authority was
// unreachable is an error wrapping ErrKeysUnavailable.
func (v *Validator) Validate(ctx context.Context, raw string) (*Claims, error) {
	_, c, err := parse(raw)
	if err != nil {
		return nil, err
	}
	keys, err := v.keySet(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := keys.VerifySignature(ctx, raw); err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case strings.HasPrefix(err.Error(), "fetching keys"):
			// go-oidc could not fetch the key set to look for the key.
			return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
		}
		return nil, reject(CheckSignature, "the signature does not verify with the authority's keys")
	}
	tid := strings.ToLower(c.TenantID)
	if !strings.EqualFold(c.Issuer, v.authorityHost+"/"+tid+"/v2.0") && !strings.EqualFold(c.Issuer, v1IssuerPrefix+tid+"/") {
		return nil, reject(CheckIssuer, "iss %s is not an issuer of tenant %s", shown(c.Issuer), shown(c.TenantID))
	}
	aud := ""
	for _, a := range c.Audience {
		if slices.Contains(v.audiences, a) {
			aud = a
			break
		}
	}
	if aud == "" {
		return nil, reject(CheckAudience, "aud %s is not the gateway's", shown(strings.Join(c.Audience, ",")))
	}
	now := v.now()
	if exp := c.Expiry.time(); !now.Before(exp.Add(v.leeway)) {
		return nil, reject(CheckExpired, "the token expired at %s", exp.Format(time.RFC3339))
	}
	if c.NotBefore != nil {
		if nbf := c.NotBefore.time(); now.Add(v.leeway).Before(nbf) {
			return nil, reject(CheckNotBefore, "the token is not valid before %s", nbf.Format(time.RFC3339))
		}
	}
	configured, err := v.configuredTenant(ctx, tid)
	if err != nil {
		return nil, err
	}
	return c.claims(configured, aud), nil
}

// keySet returns the remote key set, discovering its URL from the first
// tenant's discovery document on first use.
func (v *Validator) keySet(ctx context.Context) (*oidc.RemoteKeySet, error) {
	v.mu.Lock()
	keys, failedAt := v.keys, v.keysErrAt
	v.mu.Unlock()
	if keys != nil {
		return keys, nil
	}
	if !failedAt.IsZero() && v.now().Sub(failedAt) < retryResolutionAfter {
		return nil, fmt.Errorf("%w: key set discovery failed recently; retrying after %s", ErrKeysUnavailable, retryResolutionAfter)
	}
	v.resolving.Lock()
	defer v.resolving.Unlock()
	if v.keys != nil { // discovered while this call waited
		return v.keys, nil
	}
	d, err := v.discover(ctx, v.tenants[0])
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		v.keysErrAt = v.now()
		return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	v.resolved[strings.ToLower(v.tenants[0])] = d.tenantID
	// The key set's context carries the HTTP client; go-oidc detaches its
	// cancellation and uses it for every key fetch.
	// Its fetches are throttled (keyfetch.go).
	v.keys = oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), keyFetchClient(v.httpClient, v.now)), d.jwksURI)
	return v.keys, nil
}

// configuredTenant returns the configured tenant whose id is tid,
// resolving configured domains as needed. A tid that matches none is an
// *Error of CheckTenant, but only once every configured tenant is resolved:
// until then the answer is unknown, and the error wraps ErrKeysUnavailable.
func (v *Validator) configuredTenant(ctx context.Context, tid string) (string, error) {
	if t, ok := v.lookup(tid); ok {
		return t, nil
	}
	v.resolving.Lock()
	defer v.resolving.Unlock()
	var failures []error
	for _, t := range v.tenants {
		key := strings.ToLower(t)
		v.mu.Lock()
		_, done := v.resolved[key]
		failedAt := v.failedAt[key]
		v.mu.Unlock()
		if done {
			continue
		}
		if !failedAt.IsZero() && v.now().Sub(failedAt) < retryResolutionAfter {
			failures = append(failures, fmt.Errorf("tenant %q: resolution failed recently", t))
			continue
		}
		d, err := v.discover(ctx, t)
		if err != nil && ctx.Err() != nil {
			return "", ctx.Err()
		}
		v.mu.Lock()
		if err != nil {
			v.failedAt[key] = v.now()
			failures = append(failures, err)
		} else {
			v.resolved[key] = d.tenantID
			delete(v.failedAt, key)
		}
		v.mu.Unlock()
	}
	if t, ok := v.lookup(tid); ok {
		return t, nil
	}
	if len(failures) > 0 {
		return "", fmt.Errorf("%w: the token's tenant could not be matched: %v", ErrKeysUnavailable, errors.Join(failures...))
	}
	return "", reject(CheckTenant, "tenant %s is not served by the gateway", shown(tid))
}

// lookup finds the configured tenant resolved to tid.
func (v *Validator) lookup(tid string) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, t := range v.tenants {
		if v.resolved[strings.ToLower(t)] == tid {
			return t, true
		}
	}
	return "", false
}
