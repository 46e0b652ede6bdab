package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// minPageTokenKeyBytes is the least key length for HMAC-SHA256 page tokens.
const minPageTokenKeyBytes = 32

// Validate checks c and returns one error naming every problem, or nil. In
// sandbox mode the credentials are not required: the sandbox supplies them.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !c.Sandbox {
		if c.TenantID == "" {
			add("DEFENDER_TENANT_ID (--tenant-id) is required")
		}
		if c.ClientID == "" {
			add("DEFENDER_CLIENT_ID (--client-id) is required")
		}
		if c.ClientSecret == "" && len(c.ClientCertificatePEM) == 0 {
			add("a credential is required: DEFENDER_CLIENT_SECRET, DEFENDER_CLIENT_SECRET_FILE or DEFENDER_CLIENT_CERTIFICATE_FILE")
		}
	}
	if c.ClientSecret != "" && len(c.ClientCertificatePEM) > 0 {
		add("a client secret (DEFENDER_CLIENT_SECRET or DEFENDER_CLIENT_SECRET_FILE) and DEFENDER_CLIENT_CERTIFICATE_FILE are both set; set one")
	}
	if _, ok := backendDefaults[c.Backend]; !ok {
		add("DEFENDER_BACKEND: %q is not a backend; use graph or xdr", c.Backend)
	}
	if err := checkURL(c.AuthorityHost, false); err != nil {
		add("DEFENDER_AUTHORITY_HOST: %w", err)
	}
	if err := checkURL(c.APIURL, true); err != nil {
		add("DEFENDER_API_URL: %w", err)
	}
	if c.Scope == "" {
		add("DEFENDER_SCOPE is empty")
	}
	if n := len(c.PageTokenKey); n > 0 && n < minPageTokenKeyBytes {
		add("DEFENDER_PAGE_TOKEN_KEY: decodes to %d bytes; use at least %d (openssl rand -base64 32)", n, minPageTokenKeyBytes)
	}
	if c.UpstreamTimeout <= 0 {
		add("DEFENDER_UPSTREAM_TIMEOUT: must be positive, not %s", c.UpstreamTimeout)
	}
	if n := c.UpstreamMaxIdleConnsPerHost; n < 1 || n > 1024 {
		add("DEFENDER_UPSTREAM_MAX_IDLE_CONNS_PER_HOST: must be 1 to 1024, not %d", n)
	}
	if c.ShutdownTimeout <= 0 {
		add("DEFENDER_SHUTDOWN_TIMEOUT: must be positive, not %s", c.ShutdownTimeout)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("DEFENDER_LOG_LEVEL: %q is not a level; use debug, info, warn or error", c.LogLevel)
	}
	if err := checkAddr(c.GRPCAddr); err != nil {
		add("DEFENDER_GRPC_ADDR: %w", err)
	}
	if err := checkAddr(c.HTTPAddr); err != nil {
		add("DEFENDER_HTTP_ADDR: %w", err)
	}
	errs = append(errs, c.validateTransport()...)
	errs = append(errs, c.validateGovernor()...)
	errs = append(errs, c.validateWatch()...)
	errs = append(errs, c.validateFanout()...)
	errs = append(errs, c.validateRedis()...)
	errs = append(errs, c.validateQuota()...)
	errs = append(errs, c.validateRetry()...)
	errs = append(errs, c.validatePartners()...)
	errs = append(errs, c.validateCallerAuth()...)
	errs = append(errs, c.validateReload()...)
	return errors.Join(errs...)
}

// checkURL accepts an absolute https URL, or http for a loopback host (a
// local emulator or proxy). An authority host (withPath false) has no path.
func checkURL(raw string, withPath bool) error {
	if raw == "" {
		return errors.New("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must not have user info, a query or a fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%q must use https (http is allowed only for loopback hosts)", raw)
		}
	default:
		return fmt.Errorf("%q must use https", raw)
	}
	if !withPath && strings.Trim(u.Path, "/") != "" {
		return fmt.Errorf("%q must be a host without a path; the tenant is added to it", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAddr accepts host:port with a numeric port; the host may be empty.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return fmt.Errorf("%q has no valid port", addr)
	}
	return nil
}

// validateCallerAuth checks the caller authentication, TLS, policy, audit
// and user cache settings.
func (c *Config) validateCallerAuth() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.CallerAuth {
	case CallerAuthNone:
		if !c.Sandbox && (!isLoopbackAddr(c.GRPCAddr) || !isLoopbackAddr(c.HTTPAddr)) {
			add("DEFENDER_CALLER_AUTH: none lets anyone in, so it is allowed only with --sandbox or when both listeners are bound to loopback (gRPC %s, HTTP %s); use mtls, api-key or jwt", c.GRPCAddr, c.HTTPAddr)
		}
	case CallerAuthMTLS:
		if c.ClientCAFile == "" {
			add("DEFENDER_CLIENT_CA_FILE is required with DEFENDER_CALLER_AUTH=mtls")
		}
		if c.TLSCertFile == "" {
			add("DEFENDER_TLS_CERT_FILE and DEFENDER_TLS_KEY_FILE are required with DEFENDER_CALLER_AUTH=mtls")
		}
	case CallerAuthAPIKey:
		if c.APIKeysFile == "" {
			add("DEFENDER_API_KEYS_FILE is required with DEFENDER_CALLER_AUTH=api-key")
		}
	case CallerAuthJWT:
	default:
		add("DEFENDER_CALLER_AUTH: %q is not a mode; use none, mtls, api-key or jwt", c.CallerAuth)
	}
	// The role and the scope are claim values: one word each. Both are
	// always required, so neither may be emptied.
	if c.CallerAppRole == "" || strings.ContainsFunc(c.CallerAppRole, unicode.IsSpace) || len(c.CallerAppRole) > 120 {
		add("DEFENDER_CALLER_APP_ROLE: %q must be an app role value: not empty, at most 120 characters, no spaces", c.CallerAppRole)
	}
	if c.CallerScope == "" || strings.ContainsFunc(c.CallerScope, unicode.IsSpace) || len(c.CallerScope) > 120 {
		add("DEFENDER_CALLER_SCOPE: %q must be a scope value: not empty, at most 120 characters, no spaces", c.CallerScope)
	}
	if c.CallerAuth != CallerAuthNone && c.CallerAuth != "" && c.PolicyFile == "" {
		add("DEFENDER_POLICY_FILE is required with DEFENDER_CALLER_AUTH=%s: the gateway denies by default", c.CallerAuth)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		add("DEFENDER_TLS_CERT_FILE and DEFENDER_TLS_KEY_FILE must be set together")
	}
	if c.ClientCAFile != "" && c.CallerAuth != CallerAuthMTLS {
		add("DEFENDER_CLIENT_CA_FILE is set but DEFENDER_CALLER_AUTH is %s, not mtls", c.CallerAuth)
	}
	if c.APIKeysFile != "" && c.CallerAuth != CallerAuthAPIKey {
		add("DEFENDER_API_KEYS_FILE is set but DEFENDER_CALLER_AUTH is %s, not api-key", c.CallerAuth)
	}
	switch {
	case c.UserCacheFile != "" && len(c.UserCacheKey) == 0:
		add("DEFENDER_USER_CACHE_KEY is required with DEFENDER_USER_CACHE_FILE: the cache holds refresh tokens and is stored encrypted")
	case c.UserCacheFile == "" && len(c.UserCacheKey) > 0 && !c.Redis.Enabled():
		// With Redis the key also seals the sign-ins shared there
		// (internal/app/redis.go shareSignIns), file or not.
		add("DEFENDER_USER_CACHE_KEY is set without DEFENDER_USER_CACHE_FILE or DEFENDER_REDIS_URL")
	case len(c.UserCacheKey) > 0 && len(c.UserCacheKey) != userCacheKeyBytes:
		add("DEFENDER_USER_CACHE_KEY: decodes to %d bytes; use exactly %d (openssl rand -base64 32)", len(c.UserCacheKey), userCacheKeyBytes)
	}
	return errs
}

// isLoopbackAddr reports whether a listen address binds only loopback: an
// empty host or 0.0.0.0 binds every interface.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && host != "" && isLoopback(host)
}

// EffectiveCallerAudiences is CallerAudiences, or by default the client id
// and api://{client id}.
func (c *Config) EffectiveCallerAudiences() []string {
	if len(c.CallerAudiences) > 0 {
		return c.CallerAudiences
	}
	if c.ClientID == "" {
		return nil
	}
	return []string{c.ClientID, "api://" + c.ClientID}
}
