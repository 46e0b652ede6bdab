package config

import (
	"log/slog"
	"slices"
)

// LogValue is every effective setting (the transport's and the retries' last), secrets masked: the client secret
// and page token key print as [REDACTED], the certificate as its file path.
func (c Config) LogValue() slog.Value {
	pageTokenKey := c.PageTokenKey.String()
	if pageTokenKey == "" {
		pageTokenKey = "(random per process)"
	}
	return slog.GroupValue(append([]slog.Attr{
		slog.String("tenant_id", c.TenantID),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", c.ClientSecret.String()),
		slog.String("client_secret_file", c.ClientSecretFile),
		slog.String("client_certificate_file", c.ClientCertificateFile),
		slog.String("backend", string(c.Backend)),
		slog.String("authority_host", c.AuthorityHost),
		slog.String("api_url", c.APIURL),
		slog.String("scope", c.Scope),
		slog.String("page_token_key", pageTokenKey),
		slog.String("upstream_timeout", c.UpstreamTimeout.String()),
		slog.Int("upstream_max_idle_conns_per_host", c.UpstreamMaxIdleConnsPerHost),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.String("log_level", c.LogLevel),
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("http_addr", c.HTTPAddr),
		slog.Bool("sandbox", c.Sandbox),
		slog.String("sandbox_emulator_limits", c.SandboxEmulatorLimits),
		slog.String("partner_tenants_file", c.PartnerTenantsFile),
		slog.String("partner_tenants", c.partnerSummary()),
		slog.String("consent_redirect_uri", c.ConsentRedirectURI),
		slog.String("caller_auth", string(c.CallerAuth)),
		slog.String("tls_cert_file", c.TLSCertFile),
		slog.String("tls_key_file", c.TLSKeyFile),
		slog.String("client_ca_file", c.ClientCAFile),
		slog.String("api_keys_file", c.APIKeysFile),
		slog.Any("caller_audiences", c.EffectiveCallerAudiences()),
		slog.String("caller_app_role", c.CallerAppRole),
		slog.String("caller_scope", c.CallerScope),
		slog.String("policy_file", c.PolicyFile),
		slog.String("reload_watch_interval", c.ReloadWatchInterval.String()),
		slog.String("audit_log_file", c.AuditLogFile),
		slog.Bool("audit_query_text", c.AuditQueryText),
		slog.String("user_cache_file", c.UserCacheFile),
		slog.String("user_cache_key", c.UserCacheKey.String()),
		slog.Bool("coalesce_reads", c.Governor.CoalesceReads),
		slog.String("cache_ttl_incident_read", c.Governor.CacheTTLIncidentRead.String()),
		slog.String("cache_ttl_incident_get", c.Governor.CacheTTLIncidentGet.String()),
		slog.String("cache_ttl_hunting", c.Governor.CacheTTLHunting.String()),
		slog.Int("cache_max_entries", c.Governor.CacheMaxEntries),
		slog.Bool("quota_enabled", c.Quota.Enabled),
		slog.String("quota_file", c.Quota.File),
		slog.Float64("quota_interactive_share", c.Quota.InteractiveShare),
		slog.String("quota_max_wait", c.Quota.MaxWait.String()),
		slog.Int("quota_max_queued", c.Quota.MaxQueued),
		slog.String("quota_default_hold", c.Quota.DefaultHold.String()),
	}, slices.Concat(c.Transport.logAttrs(), c.Redis.LogAttrs(), c.Retry.logAttrs(), c.Watch.logAttrs(), c.Fanout.logAttrs())...)...)
}
