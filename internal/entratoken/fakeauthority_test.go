package entratoken

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	tenantA       = "11111111-2222-4333-8444-555555555555"
	tenantADomain = "contoso.example"
	tenantB       = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	tenantBDomain = "fabrikam.example"
	tenantOther   = "99999999-9999-4999-8999-999999999999"
	gatewayApp    = "3f2e1d0c-b9a8-4766-8554-433221100fed"
	cliApp        = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b"
)

// fakeAuthority serves discovery documents and a JWKS the way Entra ID
// does, over TLS, with keys the test controls.
type fakeAuthority struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	keys      map[string]*rsa.PrivateKey // kid → key, published
	failing   bool                       // answer every request with 503
	discovery atomic.Int32
	jwks      atomic.Int32
}

func newFakeAuthority(t testing.TB) *fakeAuthority {
	t.Helper()
	f := &fakeAuthority{t: t, keys: map[string]*rsa.PrivateKey{}}
	f.addKey("key-1")
	tenants := map[string]string{
		tenantA: tenantA, tenantADomain: tenantA,
		tenantB: tenantB, tenantBDomain: tenantB,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		f.discovery.Add(1)
		if f.isFailing() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		id, ok := tenants[strings.ToLower(r.PathValue("tenant"))]
		if !ok {
			http.Error(w, `{"error":"invalid_tenant"}`, http.StatusBadRequest)
			return
		}
		base := "https://" + r.Host + "/" + id
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer":         base + "/v2.0",
			"token_endpoint": base + "/oauth2/v2.0/token",
			"jwks_uri":       "https://" + r.Host + "/" + id + "/discovery/v2.0/keys",
		})
	})
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		f.jwks.Add(1)
		if f.isFailing() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		f.mu.Lock()
		var keys []map[string]string
		for kid, k := range f.keys {
			keys = append(keys, map[string]string{
				"kty": "RSA", "use": "sig", "kid": kid, "alg": "RS256",
				"n": base64.RawURLEncoding.EncodeToString(k.PublicKey.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.PublicKey.E)).Bytes()),
			})
		}
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAuthority) host() string { return f.srv.URL }

func (f *fakeAuthority) isFailing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failing
}

func (f *fakeAuthority) setFailing(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = v
}

func (f *fakeAuthority) addKey(kid string) *rsa.PrivateKey {
	k := newKey(f.t)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[kid] = k
	return k
}

func (f *fakeAuthority) key(kid string) *rsa.PrivateKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[kid]
}

// newKey returns a fresh 2048-bit RSA key.
func newKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// userClaims are the claims of a valid v2.0 user token for tenant A.
func (f *fakeAuthority) userClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"aud":                gatewayApp,
		"iss":                f.host() + "/" + tenantA + "/v2.0",
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"tid":                tenantA,
		"oid":                "a11ce000-0000-4000-8000-00000000a11c",
		"upn":                "alice@" + tenantADomain,
		"preferred_username": "alice@" + tenantADomain,
		"name":               "Alice Analyst",
		"azp":                cliApp,
		"scp":                "access_as_user Incident.Read",
		"idtyp":              "user",
		"ver":                "2.0",
	}
}

// sign signs claims with the key kid under the header kid.
func sign(t testing.TB, key *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
