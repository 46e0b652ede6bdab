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
		{name: "bad addresses", mutate: func(c *Config) { c.GRPCAddr, c.HTTPAddr = "50051", "localhost:http" }, wantParts: []string{"DEFENDER_GRPC_ADDR", "DEFENDER_HTTP_ADDR"}},
		{name: "port out of range", mutate: func(c *Config) { c.HTTPAddr = ":65536" }, wantParts: []string{"DEFENDER_HTTP_ADDR"}},
		{name: "zero timeouts", mutate: func(c *Config) { c.UpstreamTimeout, c.ShutdownTimeout = 0, -time.Second }, wantParts: []string{"DEFENDER_UPSTREAM_TIMEOUT", "DEFENDER_SHUTDOWN_TIMEOUT"}},
		{name: "bad log level", mutate: func(c *Config) { c.LogLevel = "verbose" }, wantParts: []string{"DEFENDER_LOG_LEVEL"}},
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
	if got := strings.Count(err.Error(), "\n") + 1; got != 3 {
		t.Errorf("error has %d lines, want one per missing setting (3):\n%v", got, err)
	}
}
