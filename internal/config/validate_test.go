package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// validConfig is a complete production configuration.
func validConfig() *Config {
	c := defaults()
	c.TenantID = "contoso.onmicrosoft.com"
	c.ClientID = "client-1"
	c.ClientSecret = "secret"
	c.GRPCAddr, c.HTTPAddr = "127.0.0.1:50051", "127.0.0.1:8080"
	c.fillBackendDefaults()
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(c *Config)
		wantParts []string // empty: valid
	}{
		{name: "valid", mutate: func(*Config) {}},
		{name: "valid with certificate", mutate: func(c *Config) { c.ClientSecret, c.ClientCertificatePEM = "", []byte("pem") }},
		{
			name:   "every missing setting in one error",
			mutate: func(c *Config) { c.TenantID, c.ClientID, c.ClientSecret = "", "", "" },
			wantParts: []string{"DEFENDER_TENANT_ID", "DEFENDER_CLIENT_ID",
				"DEFENDER_CLIENT_SECRET, DEFENDER_CLIENT_SECRET_FILE or DEFENDER_CLIENT_CERTIFICATE_FILE"},
		},
		{name: "sandbox needs no credentials", mutate: func(c *Config) { c.TenantID, c.ClientID, c.ClientSecret, c.Sandbox = "", "", "", true }},
		{name: "sandbox still checks the rest", mutate: func(c *Config) { c.ClientSecret, c.Sandbox, c.GRPCAddr = "", true, "nope" }, wantParts: []string{"DEFENDER_GRPC_ADDR"}},
		{name: "secret and certificate", mutate: func(c *Config) { c.ClientCertificatePEM = []byte("pem") }, wantParts: []string{"both set"}},
		{name: "custom caller role and scope", mutate: func(c *Config) { c.CallerAppRole, c.CallerScope = "SOC.Gateway", "Gateway.Access" }},
		{name: "empty caller role and scope", mutate: func(c *Config) { c.CallerAppRole, c.CallerScope = "", "" },
			wantParts: []string{"DEFENDER_CALLER_APP_ROLE", "DEFENDER_CALLER_SCOPE"}},
		{name: "caller scope with a space", mutate: func(c *Config) { c.CallerScope = "a b" }, wantParts: []string{`DEFENDER_CALLER_SCOPE: "a b"`}},
		{name: "bad backend", mutate: func(c *Config) { c.Backend = "mde" }, wantParts: []string{`DEFENDER_BACKEND: "mde" is not a backend`}},
		{name: "relative API URL", mutate: func(c *Config) { c.APIURL = "graph.microsoft.com/v1.0" }, wantParts: []string{"DEFENDER_API_URL", "absolute"}},
		{name: "http API URL", mutate: func(c *Config) { c.APIURL = "http://graph.microsoft.com/v1.0" }, wantParts: []string{"DEFENDER_API_URL", "https"}},
		{name: "ftp API URL", mutate: func(c *Config) { c.APIURL = "ftp://graph.microsoft.com/v1.0" }, wantParts: []string{"DEFENDER_API_URL", "https"}},
		{name: "http API URL on 127.0.0.1", mutate: func(c *Config) { c.APIURL = "http://127.0.0.1:8443/v1.0" }},
		{name: "http authority on ::1", mutate: func(c *Config) { c.AuthorityHost = "http://[::1]:8443" }},
		{name: "http authority on localhost", mutate: func(c *Config) { c.AuthorityHost = "http://localhost:8443" }},
		{name: "http authority elsewhere", mutate: func(c *Config) { c.AuthorityHost = "http://login.microsoftonline.com" }, wantParts: []string{"DEFENDER_AUTHORITY_HOST", "https"}},
		{name: "authority with tenant path", mutate: func(c *Config) { c.AuthorityHost = "https://login.microsoftonline.com/contoso" }, wantParts: []string{"DEFENDER_AUTHORITY_HOST", "without a path"}},
		{name: "API URL with query", mutate: func(c *Config) { c.APIURL = "https://graph.microsoft.com/v1.0?x=1" }, wantParts: []string{"DEFENDER_API_URL", "query"}},
		{name: "empty scope", mutate: func(c *Config) { c.Scope = "" }, wantParts: []string{"DEFENDER_SCOPE"}},
		{name: "short page token key", mutate: func(c *Config) { c.PageTokenKey = bytes.Repeat([]byte{1}, 31) }, wantParts: []string{"DEFENDER_PAGE_TOKEN_KEY: decodes to 31 bytes"}},
		{name: "32-byte page token key", mutate: func(c *Config) { c.PageTokenKey = bytes.Repeat([]byte{1}, 32) }},
		{name: "fan-out of one", mutate: func(c *Config) { c.Fanout.Concurrency = 1 }},
		{name: "fan-out of 64", mutate: func(c *Config) { c.Fanout.Concurrency = 64 }},
		{name: "no fan-out", mutate: func(c *Config) { c.Fanout.Concurrency = 0 }, wantParts: []string{"DEFENDER_FANOUT_CONCURRENCY: 0 is out of range; use 1 to 64"}},
		{name: "too wide a fan-out", mutate: func(c *Config) { c.Fanout.Concurrency = 65 }, wantParts: []string{"DEFENDER_FANOUT_CONCURRENCY: 65 is out of range"}},
		{name: "bad addresses", mutate: func(c *Config) { c.GRPCAddr, c.HTTPAddr = "50051", "localhost:http" }, wantParts: []string{"DEFENDER_GRPC_ADDR", "DEFENDER_HTTP_ADDR"}},
		{name: "port out of range", mutate: func(c *Config) { c.HTTPAddr = ":65536" }, wantParts: []string{"DEFENDER_HTTP_ADDR"}},
		{name: "zero timeouts", mutate: func(c *Config) { c.UpstreamTimeout, c.ShutdownTimeout = 0, -time.Second }, wantParts: []string{"DEFENDER_UPSTREAM_TIMEOUT", "DEFENDER_SHUTDOWN_TIMEOUT"}},
		{name: "cache on", mutate: func(c *Config) {
			c.Governor.CacheTTLIncidentRead, c.Governor.CacheTTLIncidentGet, c.Governor.CacheTTLHunting = 5*time.Second, 24*time.Hour, time.Minute
		}},
		{name: "cache TTLs out of range", mutate: func(c *Config) {
			c.Governor.CacheTTLIncidentRead, c.Governor.CacheTTLHunting = -time.Second, 25*time.Hour
		},
			wantParts: []string{"DEFENDER_CACHE_TTL_INCIDENT_READ: -1s is out of range", "DEFENDER_CACHE_TTL_HUNTING: 25h0m0s is out of range"}},
		{name: "cache bound out of range", mutate: func(c *Config) { c.Governor.CacheMaxEntries = 0 }, wantParts: []string{"DEFENDER_CACHE_MAX_ENTRIES: 0 is out of range"}},
		{name: "bad log level", mutate: func(c *Config) { c.LogLevel = "verbose" }, wantParts: []string{"DEFENDER_LOG_LEVEL"}},
		{name: "none on every interface", mutate: func(c *Config) { c.GRPCAddr = ":50051" }, wantParts: []string{"DEFENDER_CALLER_AUTH: none", "loopback"}},
		{name: "none on 0.0.0.0", mutate: func(c *Config) { c.HTTPAddr = "0.0.0.0:8080" }, wantParts: []string{"DEFENDER_CALLER_AUTH: none"}},
		{name: "none on every interface in the sandbox", mutate: func(c *Config) { c.GRPCAddr, c.HTTPAddr, c.Sandbox = ":50051", ":8080", true }},
		{name: "none on localhost and ::1", mutate: func(c *Config) { c.GRPCAddr, c.HTTPAddr = "localhost:1", "[::1]:2" }},
		{name: "unknown mode", mutate: func(c *Config) { c.CallerAuth = "basic" }, wantParts: []string{`DEFENDER_CALLER_AUTH: "basic" is not a mode`}},
		{name: "mtls needs CA, server certificate and policy", mutate: func(c *Config) { c.CallerAuth = CallerAuthMTLS },
			wantParts: []string{"DEFENDER_CLIENT_CA_FILE is required", "DEFENDER_TLS_CERT_FILE and DEFENDER_TLS_KEY_FILE are required", "DEFENDER_POLICY_FILE is required"}},
		{name: "mtls complete", mutate: func(c *Config) {
			c.CallerAuth, c.ClientCAFile, c.TLSCertFile, c.TLSKeyFile, c.PolicyFile = CallerAuthMTLS, "ca.pem", "tls.pem", "tls.key", "policy.yaml"
			c.GRPCAddr, c.HTTPAddr = ":50051", ":8080"
		}},
		{name: "api-key needs keys", mutate: func(c *Config) { c.CallerAuth, c.PolicyFile = CallerAuthAPIKey, "p.yaml" }, wantParts: []string{"DEFENDER_API_KEYS_FILE is required"}},
		{name: "jwt needs a policy", mutate: func(c *Config) { c.CallerAuth = CallerAuthJWT }, wantParts: []string{"DEFENDER_POLICY_FILE is required with DEFENDER_CALLER_AUTH=jwt"}},
		{name: "reload watch on", mutate: func(c *Config) { c.ReloadWatchInterval, c.PolicyFile = 10*time.Second, "policy.yaml" }},
		{name: "reload watch too fast", mutate: func(c *Config) { c.ReloadWatchInterval, c.PolicyFile = time.Millisecond, "policy.yaml" },
			wantParts: []string{"DEFENDER_RELOAD_WATCH_INTERVAL: 1ms is out of range"}},
		{name: "reload watch negative", mutate: func(c *Config) { c.ReloadWatchInterval, c.PolicyFile = -time.Second, "policy.yaml" },
			wantParts: []string{"DEFENDER_RELOAD_WATCH_INTERVAL: -1s is out of range"}},
		{name: "reload watch without files", mutate: func(c *Config) { c.ReloadWatchInterval = time.Second },
			wantParts: []string{"DEFENDER_RELOAD_WATCH_INTERVAL is set but no reloadable file"}},
		{name: "TLS key without certificate", mutate: func(c *Config) { c.TLSKeyFile = "k" }, wantParts: []string{"must be set together"}},
		{name: "CA without mtls", mutate: func(c *Config) { c.ClientCAFile = "ca.pem" }, wantParts: []string{"DEFENDER_CLIENT_CA_FILE is set but DEFENDER_CALLER_AUTH is none"}},
		{name: "user cache without key", mutate: func(c *Config) { c.UserCacheFile = "cache.bin" }, wantParts: []string{"DEFENDER_USER_CACHE_KEY is required"}},
		{name: "short user cache key", mutate: func(c *Config) { c.UserCacheFile, c.UserCacheKey = "cache.bin", bytes.Repeat([]byte{1}, 16) }, wantParts: []string{"decodes to 16 bytes; use exactly 32"}},
		{name: "user cache with key", mutate: func(c *Config) { c.UserCacheFile, c.UserCacheKey = "cache.bin", bytes.Repeat([]byte{1}, 32) }},
		{name: "user cache key alone", mutate: func(c *Config) { c.UserCacheKey = bytes.Repeat([]byte{1}, 32) },
			wantParts: []string{"DEFENDER_USER_CACHE_KEY is set without DEFENDER_USER_CACHE_FILE or DEFENDER_REDIS_URL"}},
		// With Redis the key seals the shared sign-ins; no file is needed.
		{name: "user cache key with redis and no file", mutate: func(c *Config) {
			c.UserCacheKey, c.Redis.URL, c.Redis.SharePageTokenKey = bytes.Repeat([]byte{1}, 32), "redis://127.0.0.1:6379/0", true
		}},
		{name: "short user cache key with redis", mutate: func(c *Config) {
			c.UserCacheKey, c.Redis.URL, c.Redis.SharePageTokenKey = bytes.Repeat([]byte{1}, 16), "redis://127.0.0.1:6379/0", true
		}, wantParts: []string{"decodes to 16 bytes; use exactly 32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			if len(tt.wantParts) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate succeeded, want an error")
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestValidateLoadedMissingSettings(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a configuration without credentials")
	}
	// Three missing settings, and caller auth none on every interface.
	if got := strings.Count(err.Error(), "\n") + 1; got != 4 {
		t.Errorf("error has %d lines, want one per missing setting and one for caller auth (4):\n%v", got, err)
	}
	if !strings.Contains(err.Error(), "DEFENDER_CALLER_AUTH: none") {
		t.Errorf("the default caller auth on every interface is not refused:\n%v", err)
	}
}
