package authctx

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Tenants of the fake authority.
const (
	fabrikamDomain = "fabrikam.example.com"
	fabrikamID     = "11111111-2222-4333-8444-555555555555"
)

// fakeDirectory answers the authority's discovery documents, on any host,
// for the tenants it knows by id or domain, and counts every request. Any
// other request fails the test's upstream (it answers 599).
type fakeDirectory struct {
	mu       sync.Mutex
	domains  map[string]string // lower-case domain → id
	requests []string          // paths
	fail     bool              // answer 503 to everything
}

func newFakeDirectory() *fakeDirectory {
	return &fakeDirectory{domains: map[string]string{
		homeDomain:          strings.ToLower(homeTenantID),
		fabrikamDomain:      fabrikamID,
		"contoso.com":       strings.ToLower(homeTenantID), // another verified domain
		"northwind.example": "99999999-8888-4777-8666-555555555555",
	}}
}

func (d *fakeDirectory) client() *http.Client { return &http.Client{Transport: d} }

func (d *fakeDirectory) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.requests)
}

func (d *fakeDirectory) RoundTrip(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	d.requests = append(d.requests, r.URL.Path)
	fail := d.fail
	d.mu.Unlock()
	answer := func(status int, body string) (*http.Response, error) {
		return &http.Response{StatusCode: status, Body: io.NopCloser(bytes.NewBufferString(body)), Header: http.Header{}, Request: r}, nil
	}
	if fail {
		return answer(http.StatusServiceUnavailable, "{}")
	}
	tenant, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/v2.0/.well-known/openid-configuration")
	if !ok || r.Method != http.MethodGet {
		return answer(599, "{}")
	}
	id := strings.ToLower(tenant)
	if !isGUID(id) {
		d.mu.Lock()
		id, ok = d.domains[id]
		d.mu.Unlock()
		if !ok {
			return answer(http.StatusBadRequest, `{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant not found.","error_codes":[90002]}`)
		}
	}
	return answer(http.StatusOK, fmt.Sprintf(`{"issuer":"https://%s/%s/v2.0"}`, r.URL.Host, id))
}
