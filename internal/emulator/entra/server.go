package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// DefaultTokenLifetime is the lifetime of issued access tokens unless
// Config.TokenLifetime says otherwise.
const DefaultTokenLifetime = time.Hour

// Config configures a Server. The zero value serves the sandbox tenants and
// resources with no apps.
type Config struct {
	// Tenants and Apps are the directory; nil Tenants means SandboxTenants.
	Tenants []Tenant
	Apps    []App
	// Resources are the API resources tokens may be requested for; nil means
	// SandboxResources.
	Resources []string
	// Now is the clock for issuing and verifying tokens (default time.Now).
	Now func() time.Time
	// TokenLifetime is the access-token lifetime (default 1h).
	TokenLifetime time.Duration
	// SigningKey signs access tokens; nil generates a 2048-bit RSA key.
	SigningKey *rsa.PrivateKey
	// Logger receives one debug line per issued token and per refusal
	// (default: discard).
	Logger *slog.Logger
	// Users are the directory's user accounts; nil means identity.Users().
	Users []identity.User
	// AuthorityHost is the authority's base URL (https://host:port), the
	// issuer base of tokens made by UserToken. Tokens issued over HTTP use
	// the request's host instead.
	AuthorityHost string
	// DeviceCodeLifetime is how long a device code stays valid (default
	// 900 s, as Entra).
	DeviceCodeLifetime time.Duration
}

// DefaultDeviceCodeLifetime is the device code lifetime unless
// Config.DeviceCodeLifetime says otherwise.
const DefaultDeviceCodeLifetime = 900 * time.Second

// Server is the fake authority. It is an http.Handler, meant to be served
// over HTTPS, and is safe for concurrent use.
type Server struct {
	registry  *Registry
	resources []string
	now       func() time.Time
	lifetime  time.Duration
	key       *rsa.PrivateKey
	keyID     string
	log       *slog.Logger
	mux       *http.ServeMux

	authorityHost      string
	deviceCodeLifetime time.Duration

	mu            sync.Mutex
	tokenRequests map[clientKey]int
	totalRequests int

	grantsMu      sync.Mutex
	deviceCodes   map[string]*deviceCode // by device_code
	refreshTokens map[string]refreshGrant
	forger        *rsa.PrivateKey // signs Forged user tokens
}

type clientKey struct{ tenantID, clientID string }

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Tenants == nil {
		cfg.Tenants = SandboxTenants()
	}
	if cfg.Resources == nil {
		cfg.Resources = SandboxResources()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Users == nil {
		cfg.Users = identity.Users()
	}
	if cfg.DeviceCodeLifetime <= 0 {
		cfg.DeviceCodeLifetime = DefaultDeviceCodeLifetime
	}
	if cfg.SigningKey == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("entra: generate signing key: %w", err)
		}
		cfg.SigningKey = key
	}
	s := &Server{
		registry:      NewRegistry(cfg.Tenants, cfg.Apps, cfg.Users),
		resources:     slices.Clone(cfg.Resources),
		now:           cfg.Now,
		lifetime:      cfg.TokenLifetime,
		key:           cfg.SigningKey,
		keyID:         keyID(&cfg.SigningKey.PublicKey),
		log:           cfg.Logger,
		tokenRequests: make(map[clientKey]int),

		authorityHost:      strings.TrimSuffix(cfg.AuthorityHost, "/"),
		deviceCodeLifetime: cfg.DeviceCodeLifetime,
		deviceCodes:        make(map[string]*deviceCode),
		refreshTokens:      make(map[string]refreshGrant),
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.handleDiscovery)
	s.mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.handleKeys)
	s.mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.handleToken)
	s.mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", s.handleDeviceCode)
	s.mux.HandleFunc("GET /devicelogin", s.handleDeviceLoginPage)
	s.mux.HandleFunc("POST /devicelogin", s.handleDeviceLoginSubmit)
	s.mux.HandleFunc("/", s.handleNotFound)
	return s, nil
}

// ServeHTTP serves the authority's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Registry returns the directory the server issues tokens from.
func (s *Server) Registry() *Registry { return s.registry }

// ResolveTenant maps a tenant ID or domain to the tenant ID.
func (s *Server) ResolveTenant(idOrDomain string) (string, bool) {
	return s.registry.ResolveTenant(idOrDomain)
}

// TokenRequests returns the number of POSTs the token endpoint received.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totalRequests
}

// TokenRequestsFor returns the number of token requests naming clientID
// against tenantID (a tenant ID, not a domain), whether or not they succeeded.
func (s *Server) TokenRequestsFor(tenantID, clientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests[clientKey{tenantID, clientID}]
}

// ResetTokenRequests zeroes the token request counters.
func (s *Server) ResetTokenRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.totalRequests = 0
	clear(s.tokenRequests)
}

func (s *Server) countTokenRequest(tenantID, clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.totalRequests++
	if tenantID != "" || clientID != "" {
		s.tokenRequests[clientKey{tenantID, clientID}]++
	}
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, http.StatusNotFound, "invalid_request",
		fmt.Sprintf("AADSTS900561: The endpoint %s %s is not served by the emulator.", r.Method, r.URL.Path))
}

// keyID derives a stable key identifier from the public key.
func keyID(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(pub.N.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}
