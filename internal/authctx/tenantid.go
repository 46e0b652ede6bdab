package authctx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// Bounds of tenant id lookups.
const (
	// lookupTimeout bounds one discovery request.
	lookupTimeout = 5 * time.Second
	// maxDiscoveryBytes bounds a discovery document (Entra's are about 2 KB).
	maxDiscoveryBytes = 64 << 10
	// maxCachedLookups bounds each cache of looked-up domains.
	maxCachedLookups = 4096
	// unknownTenantTTL is how long "the authority knows no such tenant" is
	// remembered; failedLookupTTL how long any other failure is.
	unknownTenantTTL = 10 * time.Minute
	failedLookupTTL  = 5 * time.Second
	// requestedLookupsPerSecond and requestedLookupBurst bound the lookups
	// of domains a request names that no configured tenant is written as.
	requestedLookupsPerSecond = 2
	requestedLookupBurst      = 20
)

// errUnknownTenant is the authority's answer for a name that is no tenant
// (AADSTS90002).
var errUnknownTenant = errors.New("the authority knows no such tenant")

// errLookupsLimited refuses a lookup past the rate bound.
var errLookupsLimited = errors.New("too many tenant lookups")

// aadstsTenantNotFound is Entra's error code of an unknown tenant.
const aadstsTenantNotFound = 90002

// tenantIDs resolves tenant domains to tenant ids (GUIDs) through the
// authority's OpenID discovery document, whose issuer is
// {authority}/{tenant id}/v2.0. A GUID needs no lookup. Results are cached:
// ids for the process life (a tenant's id never changes), in a bounded LRU;
// unknown tenants for unknownTenantTTL; other failures for failedLookupTTL.
// Concurrent lookups of one domain make one request (singleflight). Lookups
// of domains only a request names (not the configured ones) are
// rate-bounded, so callers cannot make the gateway fetch documents at will.
// It is safe for concurrent use.
type tenantIDs struct {
	hc      *http.Client
	now     func() time.Time
	group   singleflight.Group
	found   *lru.Cache[string, string]
	failed  *lru.Cache[string, failedLookup]
	limiter *rate.Limiter
}

// failedLookup is a remembered failure (errUnknownTenant or another one).
type failedLookup struct {
	err   error
	until time.Time
}

func newTenantIDs(hc *http.Client, now func() time.Time) *tenantIDs {
	if now == nil {
		now = time.Now
	}
	return &tenantIDs{
		hc:      hc,
		now:     now,
		found:   mustLRU[string](),
		failed:  mustLRU[failedLookup](),
		limiter: rate.NewLimiter(requestedLookupsPerSecond, requestedLookupBurst),
	}
}

func mustLRU[V any]() *lru.Cache[string, V] {
	c, err := lru.New[string, V](maxCachedLookups)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return c
}

// cached returns the id of tenant (a GUID or a domain) on authorityHost
// when it is known without a request.
func (t *tenantIDs) cached(authorityHost, tenant string) (string, bool) {
	if isGUID(tenant) {
		return strings.ToLower(tenant), true
	}
	return t.found.Get(lookupKey(authorityHost, tenant))
}

// lookup returns the id of tenant on authorityHost, asking the authority
// when it is not cached. configured says the name is a configured tenant,
// whose lookups are not rate-bounded. The error is errUnknownTenant,
// errLookupsLimited, the context's error, or another failure.
func (t *tenantIDs) lookup(ctx context.Context, authorityHost, tenant string, configured bool) (string, error) {
	if id, ok := t.cached(authorityHost, tenant); ok {
		return id, nil
	}
	key := lookupKey(authorityHost, tenant)
	if f, ok := t.failed.Get(key); ok && t.now().Before(f.until) {
		return "", f.err
	}
	if !configured && !t.limiter.Allow() {
		return "", errLookupsLimited
	}
	// The request runs detached from the first caller's cancellation, which
	// would fail the callers sharing it; lookupTimeout bounds it.
	ch := t.group.DoChan(key, func() (any, error) {
		id, err := t.discover(context.WithoutCancel(ctx), authorityHost, tenant)
		switch {
		case err == nil:
			t.found.Add(key, id)
			t.failed.Remove(key)
		case errors.Is(err, errUnknownTenant):
			t.failed.Add(key, failedLookup{err: err, until: t.now().Add(unknownTenantTTL)})
		default:
			t.failed.Add(key, failedLookup{err: err, until: t.now().Add(failedLookupTTL)})
		}
		return id, err
	})
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	}
}

func lookupKey(authorityHost, tenant string) string {
	return strings.ToLower(strings.TrimRight(authorityHost, "/")) + "|" + strings.ToLower(tenant)
}

// discoveryDocument is what a lookup reads of a discovery document or of
// the authority's error.
type discoveryDocument struct {
	Issuer     string `json:"issuer"`
	ErrorCodes []int  `json:"error_codes"`
}

// discover fetches {authorityHost}/{tenant}/v2.0/.well-known/openid-configuration
// and takes the tenant id out of its issuer.
func (t *tenantIDs) discover(ctx context.Context, authorityHost, tenant string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	base := strings.TrimRight(authorityHost, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/"+url.PathEscape(tenant)+"/v2.0/.well-known/openid-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("discovery of tenant %q: %w", tenant, err)
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("discovery of tenant %q: %w", tenant, err)
	}
	defer resp.Body.Close()
	var doc discoveryDocument
	decodeErr := json.NewDecoder(io.LimitReader(resp.Body, maxDiscoveryBytes)).Decode(&doc)
	switch {
	case resp.StatusCode == http.StatusBadRequest && decodeErr == nil && slices.Contains(doc.ErrorCodes, aadstsTenantNotFound):
		return "", errUnknownTenant
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("discovery of tenant %q: HTTP %d", tenant, resp.StatusCode)
	case decodeErr != nil:
		return "", fmt.Errorf("discovery of tenant %q: the document is not JSON: %v", tenant, decodeErr)
	}
	id, ok := strings.CutPrefix(doc.Issuer, base+"/")
	if ok {
		id, ok = strings.CutSuffix(id, "/v2.0")
	}
	if !ok || !isGUID(id) {
		return "", fmt.Errorf("discovery of tenant %q: issuer %q is not %s/<tenant id>/v2.0", tenant, doc.Issuer, base)
	}
	return strings.ToLower(id), nil
}

// isGUID accepts the 8-4-4-4-12 hexadecimal form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return true
}
