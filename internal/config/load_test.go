package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// env adapts a map to getenv.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	key32 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	secretFile := writeFile(t, "secret", "from-file-secret\r\n")
	certFile := writeFile(t, "app.pem", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")

	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c *Config) {
				want := Config{
					Backend: defender.BackendGraph, AuthorityHost: "https://login.microsoftonline.com",
					APIURL: "https://graph.microsoft.com/v1.0", Scope: "https://graph.microsoft.com/.default",
					UpstreamTimeout: 60 * time.Second, ShutdownTimeout: 15 * time.Second, LogLevel: "info",
					GRPCAddr: ":50051", HTTPAddr: ":8080",
				}
				assertConfig(t, c, want)
			},
		},
		{
			name: "governor settings",
			args: []string{"--coalesce-reads=false", "--cache-ttl-hunting", "30s"},
			env: map[string]string{
				"DEFENDER_CACHE_TTL_INCIDENT_READ": "5s", "DEFENDER_CACHE_TTL_INCIDENT_GET": "1m", "DEFENDER_CACHE_MAX_ENTRIES": "500",
			},
			check: func(t *testing.T, c *Config) {
				want := Governor{CoalesceReads: false, CacheTTLIncidentRead: 5 * time.Second, CacheTTLIncidentGet: time.Minute,
					CacheTTLHunting: 30 * time.Second, CacheMaxEntries: 500}
				if c.Governor != want {
					t.Errorf("governor = %+v, want %+v", c.Governor, want)
				}
			},
		},
		{
			name: "governor defaults",
			check: func(t *testing.T, c *Config) {
				if want := (Governor{CoalesceReads: true, CacheMaxEntries: 10000}); c.Governor != want {
					t.Errorf("governor = %+v, want %+v", c.Governor, want)
				}
			},
		},
		{
			name: "xdr defaults",
			args: []string{"--backend", "XDR"},
			check: func(t *testing.T, c *Config) {
				if c.Backend != defender.BackendXDR || c.APIURL != "https://api.security.microsoft.com" || c.Scope != "https://api.security.microsoft.com/.default" {
					t.Errorf("backend %q api %q scope %q, want the XDR defaults", c.Backend, c.APIURL, c.Scope)
				}
			},
		},
		{
			name: "environment",
			env: map[string]string{
				"DEFENDER_TENANT_ID": "contoso.onmicrosoft.com", "DEFENDER_CLIENT_ID": "client-1",
				"DEFENDER_CLIENT_SECRET": "env-secret", "DEFENDER_BACKEND": "xdr",
				"DEFENDER_AUTHORITY_HOST": "https://login.microsoftonline.us", "DEFENDER_API_URL": "https://api-gov.security.microsoft.us",
				"DEFENDER_SCOPE": "https://api-gov.security.microsoft.us/.default", "DEFENDER_PAGE_TOKEN_KEY": key32,
				"DEFENDER_UPSTREAM_TIMEOUT": "90s", "DEFENDER_SHUTDOWN_TIMEOUT": "2m", "DEFENDER_LOG_LEVEL": "DEBUG",
				"DEFENDER_GRPC_ADDR": "127.0.0.1:9000", "DEFENDER_HTTP_ADDR": "127.0.0.1:9001", "DEFENDER_SANDBOX": "true",
			},
			check: func(t *testing.T, c *Config) {
				want := Config{
					TenantID: "contoso.onmicrosoft.com", ClientID: "client-1", ClientSecret: "env-secret",
					Backend: defender.BackendXDR, AuthorityHost: "https://login.microsoftonline.us",
					APIURL: "https://api-gov.security.microsoft.us", Scope: "https://api-gov.security.microsoft.us/.default",
					PageTokenKey:    bytes.Repeat([]byte{7}, 32),
					UpstreamTimeout: 90 * time.Second, ShutdownTimeout: 2 * time.Minute, LogLevel: "debug",
					GRPCAddr: "127.0.0.1:9000", HTTPAddr: "127.0.0.1:9001", Sandbox: true,
				}
				assertConfig(t, c, want)
			},
		},
		{
			name: "flag beats environment",
			env:  map[string]string{"DEFENDER_TENANT_ID": "env-tenant", "DEFENDER_GRPC_ADDR": ":1", "DEFENDER_SANDBOX": "true", "DEFENDER_UPSTREAM_TIMEOUT": "5s"},
			args: []string{"--tenant-id", "flag-tenant", "-grpc-addr=:2", "--sandbox=false", "--upstream-timeout", "7s"},
			check: func(t *testing.T, c *Config) {
				if c.TenantID != "flag-tenant" || c.GRPCAddr != ":2" || c.Sandbox || c.UpstreamTimeout != 7*time.Second {
					t.Errorf("tenant %q grpc %q sandbox %v timeout %v; want the flags' values", c.TenantID, c.GRPCAddr, c.Sandbox, c.UpstreamTimeout)
				}
			},
		},
		{
			name: "bare sandbox flag",
			args: []string{"--sandbox"},
			check: func(t *testing.T, c *Config) {
				if !c.Sandbox {
					t.Error("--sandbox did not set Sandbox")
				}
			},
		},
		{
			name: "secret file, trailing newline trimmed",
			env:  map[string]string{"DEFENDER_CLIENT_SECRET_FILE": secretFile},
			check: func(t *testing.T, c *Config) {
				if c.ClientSecret != "from-file-secret" || c.ClientSecretFile != secretFile {
					t.Errorf("secret %q (len %d) file %q, want the file's first line", string(c.ClientSecret), len(c.ClientSecret), c.ClientSecretFile)
				}
			},
		},
		{
			name: "certificate file",
			args: []string{"--client-certificate-file", certFile},
			check: func(t *testing.T, c *Config) {
				if !strings.Contains(string(c.ClientCertificatePEM), "BEGIN CERTIFICATE") || c.ClientCertificateFile != certFile {
					t.Errorf("certificate file %q not read (%d bytes)", c.ClientCertificateFile, len(c.ClientCertificatePEM))
				}
			},
		},
		{
			name: "url-safe page token key",
			env:  map[string]string{"DEFENDER_PAGE_TOKEN_KEY": base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 33))},
			check: func(t *testing.T, c *Config) {
				if !bytes.Equal(c.PageTokenKey, bytes.Repeat([]byte{0xfb}, 33)) {
					t.Errorf("PageTokenKey has %d bytes, want the 33 decoded", len(c.PageTokenKey))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, env(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func assertConfig(t *testing.T, got *Config, want Config) {
	t.Helper()
	if got.TenantID != want.TenantID || got.ClientID != want.ClientID || string(got.ClientSecret) != string(want.ClientSecret) ||
		got.Backend != want.Backend || got.AuthorityHost != want.AuthorityHost || got.APIURL != want.APIURL ||
		got.Scope != want.Scope || !bytes.Equal(got.PageTokenKey, want.PageTokenKey) ||
		got.UpstreamTimeout != want.UpstreamTimeout || got.ShutdownTimeout != want.ShutdownTimeout ||
		got.LogLevel != want.LogLevel || got.GRPCAddr != want.GRPCAddr || got.HTTPAddr != want.HTTPAddr || got.Sandbox != want.Sandbox {
		t.Errorf("config =\n%+v\nwant\n%+v", got.LogValue(), want.LogValue())
	}
}

func TestLoadErrors(t *testing.T) {
	emptyFile := writeFile(t, "empty", "\n")
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantParts []string
	}{
		{name: "unknown flag", args: []string{"--tenant", "x"}, wantParts: []string{"flag provided but not defined: -tenant"}},
		{name: "bad duration flag", args: []string{"--upstream-timeout", "soon"}, wantParts: []string{"upstream-timeout", "Go duration"}},
		{name: "positional argument", args: []string{"serve"}, wantParts: []string{`unexpected argument "serve"`}},
		{name: "bad sandbox emulator limits", env: map[string]string{"DEFENDER_SANDBOX_EMULATOR_LIMITS": "strict"},
			wantParts: []string{"DEFENDER_SANDBOX_EMULATOR_LIMITS", "must be documented or off"}},
		{
			name:      "every bad variable at once",
			env:       map[string]string{"DEFENDER_SHUTDOWN_TIMEOUT": "x", "DEFENDER_SANDBOX": "maybe", "DEFENDER_PAGE_TOKEN_KEY": "not base64!"},
			wantParts: []string{"DEFENDER_SHUTDOWN_TIMEOUT", "DEFENDER_SANDBOX", "DEFENDER_PAGE_TOKEN_KEY: must be base64"},
		},
		{name: "missing secret file", env: map[string]string{"DEFENDER_CLIENT_SECRET_FILE": "/nonexistent/secret"}, wantParts: []string{"DEFENDER_CLIENT_SECRET_FILE", "/nonexistent/secret"}},
		{name: "empty secret file", env: map[string]string{"DEFENDER_CLIENT_SECRET_FILE": emptyFile}, wantParts: []string{"DEFENDER_CLIENT_SECRET_FILE", "is empty"}},
		{name: "missing certificate file", args: []string{"--client-certificate-file", "/nonexistent/app.pem"}, wantParts: []string{"DEFENDER_CLIENT_CERTIFICATE_FILE", "/nonexistent/app.pem"}},
		{
			name:      "secret and secret file",
			env:       map[string]string{"DEFENDER_CLIENT_SECRET": "s", "DEFENDER_CLIENT_SECRET_FILE": emptyFile},
			wantParts: []string{"DEFENDER_CLIENT_SECRET and DEFENDER_CLIENT_SECRET_FILE are both set"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, env(tt.env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestLoadHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		t.Run(arg, func(t *testing.T) {
			_, err := Load([]string{arg}, env(nil))
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			var help *HelpError
			if !errors.As(err, &help) {
				t.Fatalf("err is %T, want *HelpError", err)
			}
			for _, s := range settings {
				if !strings.Contains(help.Usage, "--"+s.flag) || !strings.Contains(help.Usage, s.env) {
					t.Errorf("usage lacks --%s or %s", s.flag, s.env)
				}
			}
		})
	}
}

// TestSettingNamesAreEverySetting: the exported list is the table's names,
// each once.
func TestSettingNamesAreEverySetting(t *testing.T) {
	names := SettingNames()
	if len(names) != len(settings) {
		t.Fatalf("SettingNames has %d entries, the table %d", len(names), len(settings))
	}
	seen := map[string]bool{}
	for i, n := range names {
		if n.Env != settings[i].env || n.Flag != settings[i].flag || n.Bool != settings[i].isBool {
			t.Errorf("entry %d = %+v, want %s/--%s", i, n, settings[i].env, settings[i].flag)
		}
		if seen[n.Env] || seen["--"+n.Flag] {
			t.Errorf("%s/--%s listed twice", n.Env, n.Flag)
		}
		seen[n.Env], seen["--"+n.Flag] = true, true
	}
	if !seen["DEFENDER_RELOAD_WATCH_INTERVAL"] || !seen["--reload-watch-interval"] {
		t.Error("the reload watch setting is missing")
	}
}

// TestLoadReadsTheReloadWatchInterval from the variable and the flag, the
// flag winning.
func TestLoadReadsTheReloadWatchInterval(t *testing.T) {
	env := map[string]string{"DEFENDER_RELOAD_WATCH_INTERVAL": "5s"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 5 * time.Second},
		{[]string{"--reload-watch-interval", "250ms"}, 250 * time.Millisecond},
	} {
		c, err := Load(tc.args, getenv)
		if err != nil {
			t.Fatalf("Load(%q): %v", tc.args, err)
		}
		if c.ReloadWatchInterval != tc.want {
			t.Errorf("Load(%q): interval %s, want %s", tc.args, c.ReloadWatchInterval, tc.want)
		}
	}
}
