package config

import (
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// setting is one configuration entry: its environment variable, its flag,
// how it reads a value into a Config, and its documentation.
type setting struct {
	env  string
	flag string
	// def is the default as documented; "" when none.
	def   string
	usage string
	// isBool makes the flag valueless (--sandbox).
	isBool bool
	set    func(c *Config, value string) error
}

// settings lists every setting in the order of the documentation: the
// core ones, then the transport's (transport.go), the governor's
// (governor.go), Redis's (redis.go), the quota's (quota.go) and the
// retries' (retry.go).
var settings = slices.Concat(coreSettings, transportSettings, governorSettings, redisSettings, quotaSettings, retrySettings, watchSettings, fanoutSettings)

var coreSettings = []setting{
	{env: "DEFENDER_TENANT_ID", flag: "tenant-id", usage: "Home tenant: its GUID or a verified domain. Required unless --sandbox.",
		set: func(c *Config, v string) error { c.TenantID = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_CLIENT_ID", flag: "client-id", usage: "Application (client) ID of the app registration. Required unless --sandbox.",
		set: func(c *Config, v string) error { c.ClientID = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_CLIENT_SECRET", flag: "client-secret", usage: "Client secret. Prefer the _FILE form: flags show in the process list.",
		set: func(c *Config, v string) error { c.ClientSecret = Secret(v); return nil }},
	{env: "DEFENDER_CLIENT_SECRET_FILE", flag: "client-secret-file", usage: "File holding the client secret (read at start; a trailing newline is trimmed).",
		set: func(c *Config, v string) error { c.ClientSecretFile = v; return nil }},
	{env: "DEFENDER_CLIENT_CERTIFICATE_FILE", flag: "client-certificate-file", usage: "PEM file with the client certificate and its unencrypted private key, instead of a secret.",
		set: func(c *Config, v string) error { c.ClientCertificateFile = v; return nil }},
	{env: "DEFENDER_BACKEND", flag: "backend", def: string(DefaultBackend), usage: "Upstream API: graph (Microsoft Graph security API) or xdr (Defender XDR API).",
		set: func(c *Config, v string) error {
			c.Backend = defender.BackendKind(strings.ToLower(strings.TrimSpace(v)))
			return nil
		}},
	{env: "DEFENDER_AUTHORITY_HOST", flag: "authority-host", def: DefaultAuthorityHost, usage: "Entra ID authority host (national clouds: https://login.microsoftonline.us ...).",
		set: func(c *Config, v string) error { c.AuthorityHost = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_API_URL", flag: "api-url", def: "graph: https://graph.microsoft.com/v1.0; xdr: https://api.security.microsoft.com", usage: "Upstream API base URL.",
		set: func(c *Config, v string) error { c.APIURL = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_SCOPE", flag: "scope", def: "graph: https://graph.microsoft.com/.default; xdr: https://api.security.microsoft.com/.default", usage: "Token scope (override for national clouds).",
		set: func(c *Config, v string) error { c.Scope = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_PARTNER_TENANTS_FILE", flag: "partner-tenants-file", usage: "YAML allow-list of the partner context's customer tenants, each with optional display name and backend, API URL, authority host and scope overrides (docs/auth.md).",
		set: func(c *Config, v string) error { c.PartnerTenantsFile = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_PARTNER_TENANTS", flag: "partner-tenants", usage: "Customer tenants of the partner context, comma-separated: tenant or tenant=Display Name (GUIDs or domains). Joined with the file's.",
		set: func(c *Config, v string) (err error) { c.partnerList, err = parsePartnerList(v); return err }},
	{env: "DEFENDER_CONSENT_REDIRECT_URI", flag: "consent-redirect-uri", usage: "Redirect URI of admin-consent URLs (absolute https, or http for loopback); must be a reply URL of the app registration.",
		set: func(c *Config, v string) error { c.ConsentRedirectURI = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_CALLER_AUTH", flag: "caller-auth", def: string(DefaultCallerAuth), usage: "How callers authenticate: none (sandbox or loopback listeners only), mtls, api-key or jwt (docs/auth.md).",
		set: func(c *Config, v string) error {
			c.CallerAuth = CallerAuthMode(strings.ToLower(strings.TrimSpace(v)))
			return nil
		}},
	{env: "DEFENDER_TLS_CERT_FILE", flag: "tls-cert-file", usage: "PEM certificate (chain) both listeners serve TLS with. Required with mtls; empty serves plaintext.",
		set: func(c *Config, v string) error { c.TLSCertFile = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_TLS_KEY_FILE", flag: "tls-key-file", usage: "PEM private key of DEFENDER_TLS_CERT_FILE.",
		set: func(c *Config, v string) error { c.TLSKeyFile = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_CLIENT_CA_FILE", flag: "client-ca-file", usage: "PEM bundle of the CAs whose client certificates mtls accepts.",
		set: func(c *Config, v string) error { c.ClientCAFile = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_API_KEYS_FILE", flag: "api-keys-file", usage: "YAML file of caller API keys, stored as SHA-256 hashes (api-key mode; `defender-gateway hash-api-key` makes an entry).",
		set: func(c *Config, v string) error { c.APIKeysFile = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_CALLER_AUDIENCES", flag: "caller-audiences", usage: "Comma-separated aud values accepted in caller tokens (jwt) and in user tokens presented for on-behalf-of. Empty: the client id and api://{client id}.",
		set: func(c *Config, v string) error { c.CallerAudiences = splitList(v); return nil }},
	{env: "DEFENDER_CALLER_APP_ROLE", flag: "caller-app-role", def: DefaultCallerAppRole, usage: "App role (roles claim) an app token must carry in jwt mode; one the gateway's app registration defines.",
		set: func(c *Config, v string) error { c.CallerAppRole = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_CALLER_SCOPE", flag: "caller-scope", def: DefaultCallerScope, usage: "Delegated scope (scp claim) a user token must carry, in jwt mode and for on-behalf-of in every mode; one the gateway's app registration exposes.",
		set: func(c *Config, v string) error { c.CallerScope = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_POLICY_FILE", flag: "policy-file", usage: "YAML authorization policy: per caller identity, its tenants and operations (deny by default; reloaded on SIGHUP). Required unless caller auth is none.",
		set: func(c *Config, v string) error { c.PolicyFile = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_RELOAD_WATCH_INTERVAL", flag: "reload-watch-interval", def: "0s", usage: "How often to compare the content of the policy, API keys and TLS files with what was loaded, and reload them as SIGHUP does on a change (for mounted ConfigMaps and Secrets). 0: off.",
		set: setReloadWatchInterval},
	{env: "DEFENDER_AUDIT_LOG_FILE", flag: "audit-log-file", usage: "File the audit records are appended to (JSON lines). Empty: they go to the main log.",
		set: func(c *Config, v string) error { c.AuditLogFile = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_AUDIT_QUERY_TEXT", flag: "audit-query-text", def: "false", isBool: true, usage: "Put the KQL text in audit records (its SHA-256 is always there).",
		set: func(c *Config, v string) error { return setBool(&c.AuditQueryText, v) }},
	{env: "DEFENDER_USER_CACHE_FILE", flag: "user-cache-file", usage: "File persisting the device-code accounts' token cache, encrypted (AES-256-GCM) with DEFENDER_USER_CACHE_KEY. Empty: in memory only.",
		set: func(c *Config, v string) error { c.UserCacheFile = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_USER_CACHE_KEY", flag: "user-cache-key", usage: "Base64 of the 32-byte key encrypting DEFENDER_USER_CACHE_FILE and, with DEFENDER_REDIS_URL, the sign-ins shared in Redis (openssl rand -base64 32).",
		set: func(c *Config, v string) (err error) { c.UserCacheKey, err = decodeKey(v); return err }},
	{env: "DEFENDER_PAGE_TOKEN_KEY", flag: "page-token-key", usage: "Base64 of at least 32 random bytes signing page tokens. Empty: a random key per process (tokens do not survive a restart or work across replicas).",
		set: setPageTokenKey},
	{env: "DEFENDER_UPSTREAM_TIMEOUT", flag: "upstream-timeout", def: "60s", usage: "Bound of every upstream HTTP request (Go duration).",
		set: func(c *Config, v string) error { return setDuration(&c.UpstreamTimeout, v) }},
	{env: "DEFENDER_UPSTREAM_MAX_IDLE_CONNS_PER_HOST", flag: "upstream-max-idle-conns-per-host", def: "64", usage: "Idle keep-alive connections the upstream HTTP client keeps per host (1 to 1024).",
		set: func(c *Config, v string) error { return setInt(&c.UpstreamMaxIdleConnsPerHost, v) }},
	{env: "DEFENDER_SHUTDOWN_TIMEOUT", flag: "shutdown-timeout", def: "15s", usage: "Bound of the graceful shutdown (Go duration).",
		set: func(c *Config, v string) error { return setDuration(&c.ShutdownTimeout, v) }},
	{env: "DEFENDER_LOG_LEVEL", flag: "log-level", def: DefaultLogLevel, usage: "Log level: debug, info, warn or error.",
		set: func(c *Config, v string) error { c.LogLevel = strings.ToLower(strings.TrimSpace(v)); return nil }},
	{env: "DEFENDER_GRPC_ADDR", flag: "grpc-addr", def: DefaultGRPCAddr, usage: "gRPC listen address, host:port.",
		set: func(c *Config, v string) error { c.GRPCAddr = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_HTTP_ADDR", flag: "http-addr", def: DefaultHTTPAddr, usage: "HTTP listen address (REST, /healthz, /metrics), host:port.",
		set: func(c *Config, v string) error { c.HTTPAddr = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_SANDBOX", flag: "sandbox", def: "false", isBool: true, usage: "Run against the built-in emulator; no credentials needed.",
		set: func(c *Config, v string) error { return setBool(&c.Sandbox, v) }},
	{env: "DEFENDER_SANDBOX_EMULATOR_LIMITS", flag: "sandbox-emulator-limits", def: SandboxLimitsOff, usage: "With --sandbox: documented makes the emulator enforce the documented upstream rate limits per tenant (429s in each API's shape); off does not.",
		set: setSandboxEmulatorLimits},
}

func setSandboxEmulatorLimits(c *Config, v string) error {
	v = strings.ToLower(strings.TrimSpace(v))
	if v != SandboxLimitsOff && v != SandboxLimitsDocumented {
		return errors.New("must be documented or off")
	}
	c.SandboxEmulatorLimits = v
	return nil
}

func setDuration(d *time.Duration, v string) error {
	parsed, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return errors.New("must be a Go duration such as 30s or 2m")
	}
	*d = parsed
	return nil
}

func setBool(b *bool, v string) error {
	parsed, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return errors.New("must be true or false")
	}
	*b = parsed
	return nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// setPageTokenKey decodes the page token key.
func setPageTokenKey(c *Config, v string) (err error) {
	c.PageTokenKey, err = decodeKey(v)
	return err
}

// decodeKey decodes standard or URL-safe base64, padded or not; empty is
// nil. The errors never repeat the value.
func decodeKey(v string) (SecretBytes, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(v); err == nil {
			return key, nil
		}
	}
	return nil, errors.New("must be base64 (e.g. the output of: openssl rand -base64 32)")
}

// SettingName is the two names of one setting: its environment variable
// and its flag (without the dashes).
type SettingName struct {
	Env  string
	Flag string
	// Bool is true for a valueless flag (--sandbox).
	Bool bool
}

// SettingNames lists every setting the binary accepts, in the order of the
// documentation. Deployment checks (deploy/helm/chartcheck) compare what a
// chart sets with it.
func SettingNames() []SettingName {
	names := make([]SettingName, len(settings))
	for i, s := range settings {
		names[i] = SettingName{Env: s.env, Flag: s.flag, Bool: s.isBool}
	}
	return names
}
