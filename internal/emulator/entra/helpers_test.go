package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testKeys are generated once: RSA generation is slow on shared CPUs.
var testKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
})

// fixture is a Server behind an httptest TLS server with a sandbox app whose
// certificate key is clientKey.
type fixture struct {
	srv        *Server
	ts         *httptest.Server
	clock      *testClock
	clientKey  *rsa.PrivateKey
	clientCert *x509.Certificate
	otherKey   *rsa.PrivateKey // signs nothing the server trusts
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSigned(t, keys[1])
	clock := &testClock{base: time.Now()}
	srv, err := New(Config{
		Apps:       SandboxApps(cert),
		Now:        clock.Now,
		SigningKey: keys[0],
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv)
	t.Cleanup(ts.Close)
	srv.authorityHost = ts.URL // set before any request; UserToken's issuer base
	return &fixture{srv: srv, ts: ts, clock: clock, clientKey: keys[1], clientCert: cert, otherKey: keys[2]}
}

func (f *fixture) tokenURL(tenant string) string {
	return f.ts.URL + "/" + tenant + "/oauth2/v2.0/token"
}

// post sends a form to path and decodes the JSON answer.
func (f *fixture) post(t *testing.T, path string, form url.Values, header http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return f.do(t, req)
}

func (f *fixture) get(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.do(t, req)
}

func (f *fixture) do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s %s: decode body: %v", req.Method, req.URL.Path, err)
	}
	return resp.StatusCode, body
}

func selfSigned(t *testing.T, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test app"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// testClock is a clock tests can move forward.
type testClock struct {
	base   time.Time
	offset atomic.Int64
}

func (c *testClock) Now() time.Time          { return c.base.Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// aadstsCode returns the first of error_codes in an Entra error body.
func aadstsCode(body map[string]any) int {
	codes, _ := body["error_codes"].([]any)
	if len(codes) == 0 {
		return 0
	}
	n, _ := codes[0].(float64)
	return int(n)
}
