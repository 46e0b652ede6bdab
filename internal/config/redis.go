package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Redis is the optional shared state of several replicas: quota, page-token key and sign-ins (internal/sharedstate, internal/quota/redisstore).
type Redis struct {
	// URL is redis://[user:password@]host:port[/db] or rediss:// (TLS);
	// empty means no Redis: every replica keeps its own state. It may hold
	// a password, so it is a Secret; RedactedURL is the loggable form.
	URL Secret
	// KeyPrefix starts every key the gateway writes.
	KeyPrefix string
	// CommandTimeout bounds each Redis command; a slower answer counts as
	// Redis lost.
	CommandTimeout time.Duration
	// SharePageTokenKey lets the replicas agree on a page-token key kept
	// in Redis when DEFENDER_PAGE_TOKEN_KEY is not set.
	SharePageTokenKey bool
}

// Defaults of the Redis settings.
const (
	DefaultRedisKeyPrefix      = "defender-gateway:"
	DefaultRedisCommandTimeout = 250 * time.Millisecond
)

func defaultRedis() Redis {
	return Redis{KeyPrefix: DefaultRedisKeyPrefix, CommandTimeout: DefaultRedisCommandTimeout}
}

// Enabled reports whether a Redis URL is configured.
func (r Redis) Enabled() bool { return r.URL != "" }

// RedactedURL is the URL without its user info (credentials), for logs;
// "" when none is set.
func (r Redis) RedactedURL() string {
	if r.URL == "" {
		return ""
	}
	u, err := url.Parse(string(r.URL))
	if err != nil {
		return redacted
	}
	u.User = nil
	return u.String()
}

// LogAttrs are the Redis settings for the effective-configuration record.
func (r Redis) LogAttrs() []slog.Attr {
	return []slog.Attr{
		slog.String("redis_url", r.RedactedURL()),
		slog.String("redis_key_prefix", r.KeyPrefix),
		slog.String("redis_command_timeout", r.CommandTimeout.String()),
		slog.Bool("redis_share_page_token_key", r.SharePageTokenKey),
	}
}

// redisSettings are the redis entries of the settings table.
var redisSettings = []setting{
	{env: "DEFENDER_REDIS_URL", flag: "redis-url", usage: "Redis shared by the replicas (redis:// or rediss://, optionally with user:password@ and /db): quota state, sign-ins and optionally the page-token key. Empty: state per replica.",
		set: func(c *Config, v string) error { c.Redis.URL = Secret(strings.TrimSpace(v)); return nil }},
	{env: "DEFENDER_REDIS_KEY_PREFIX", flag: "redis-key-prefix", def: DefaultRedisKeyPrefix, usage: "Prefix of every Redis key the gateway writes.",
		set: func(c *Config, v string) error { c.Redis.KeyPrefix = v; return nil }},
	{env: "DEFENDER_REDIS_COMMAND_TIMEOUT", flag: "redis-command-timeout", def: "250ms", usage: "Bound of each Redis command; a slower answer counts as Redis lost.",
		set: func(c *Config, v string) error { return setDuration(&c.Redis.CommandTimeout, v) }},
	{env: "DEFENDER_REDIS_SHARE_PAGE_TOKEN_KEY", flag: "redis-share-page-token-key", def: "false", isBool: true, usage: "Without DEFENDER_PAGE_TOKEN_KEY, let the first replica draw a page-token key and keep it in Redis for all.",
		set: func(c *Config, v string) error { return setBool(&c.Redis.SharePageTokenKey, v) }},
}

// validateRedis checks the redis settings.
func (c *Config) validateRedis() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	r := c.Redis
	if r.CommandTimeout <= 0 {
		add("DEFENDER_REDIS_COMMAND_TIMEOUT: must be positive, not %s", r.CommandTimeout)
	}
	if strings.TrimSpace(r.KeyPrefix) == "" && r.Enabled() {
		add("DEFENDER_REDIS_KEY_PREFIX: must not be empty with DEFENDER_REDIS_URL")
	}
	if !r.Enabled() {
		if r.SharePageTokenKey {
			add("DEFENDER_REDIS_SHARE_PAGE_TOKEN_KEY needs DEFENDER_REDIS_URL")
		}
		return errs
	}
	if err := checkRedisURL(string(r.URL)); err != nil {
		add("DEFENDER_REDIS_URL: %w", err)
	}
	if len(c.PageTokenKey) == 0 && !r.SharePageTokenKey {
		add("DEFENDER_REDIS_URL is set, so the replicas must share a page-token key: set DEFENDER_PAGE_TOKEN_KEY, or DEFENDER_REDIS_SHARE_PAGE_TOKEN_KEY=true to keep one in Redis")
	}
	return errs
}

// checkRedisURL accepts redis:// and rediss:// URLs with a host, an
// optional numeric database and no query or fragment. Its errors never
// quote the URL, which may hold a password.
func checkRedisURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return errors.New("is not a URL with a host (redis://host:6379/0)")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return errors.New("must use redis:// or rediss://")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must not have a query or a fragment")
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		for _, ch := range db {
			if ch < '0' || ch > '9' {
				return errors.New("the path must be a database number (/0)")
			}
		}
	}
	if p := u.Port(); p != "" {
		if err := checkAddr(u.Host); err != nil {
			return errors.New("has a bad port")
		}
	}
	return nil
}
