package entratoken

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// discoveryTimeout bounds one request for a discovery document or the key
// set when the HTTP client sets no timeout of its own.
const discoveryTimeout = 10 * time.Second

// retryResolutionAfter is how long a failed tenant resolution (or key set
// discovery) is remembered before the next Validate tries again.
const retryResolutionAfter = 10 * time.Second

// maxDiscoveryBytes bounds a discovery document.
const maxDiscoveryBytes = 1 << 20

// openIDConfiguration is what the validator reads of a tenant's discovery
// document.
type openIDConfiguration struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// discovered is a tenant's id and key set URL, from its discovery document.
type discovered struct {
	tenantID string
	jwksURI  string
}

// discover fetches <AuthorityHost>/<tenant>/v2.0/.well-known/openid-configuration
// and reads the tenant GUID from its issuer.
func (v *Validator) discover(ctx context.Context, tenant string) (discovered, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	u := v.authorityHost + "/" + url.PathEscape(tenant) + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return discovered{}, fmt.Errorf("discovery of tenant %q: %v", tenant, err)
	}
	resp, err := v.httpClient.Do(req)
	if err != nil {
		return discovered{}, fmt.Errorf("discovery of tenant %q: %w", tenant, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return discovered{}, fmt.Errorf("discovery of tenant %q: HTTP %d", tenant, resp.StatusCode)
	}
	var doc openIDConfiguration
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDiscoveryBytes)).Decode(&doc); err != nil {
		return discovered{}, fmt.Errorf("discovery of tenant %q: the document is not JSON: %v", tenant, err)
	}
	prefix := v.authorityHost + "/"
	id, ok := strings.CutPrefix(doc.Issuer, prefix)
	if ok {
		id, ok = strings.CutSuffix(id, "/v2.0")
	}
	if !ok || !isGUID(id) {
		return discovered{}, fmt.Errorf("discovery of tenant %q: issuer %q is not %s<tenant id>/v2.0", tenant, doc.Issuer, prefix)
	}
	if err := v.sameHost(doc.JWKSURI); err != nil {
		return discovered{}, fmt.Errorf("discovery of tenant %q: jwks_uri: %v", tenant, err)
	}
	return discovered{tenantID: strings.ToLower(id), jwksURI: doc.JWKSURI}, nil
}

// sameHost accepts an https URL on the authority host: keys are trusted
// only from the authority itself.
func (v *Validator) sameHost(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, v.authority.Host) {
		return fmt.Errorf("%q is not an https URL on %s", raw, v.authority.Host)
	}
	return nil
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}
