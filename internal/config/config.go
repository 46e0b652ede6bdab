package config

import (
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// Config is every setting of the gateway. Load fills it; fields may be
// changed afterwards (the sandbox does) and must then pass Validate.
type Config struct {
	// TenantID is the home tenant: a GUID or a verified domain.
	TenantID string
	// ClientID is the app registration's application (client) id.
	ClientID string
	// ClientSecret is the client secret, given directly or read from
	// ClientSecretFile at load.
	ClientSecret     Secret
	ClientSecretFile string
	// ClientCertificatePEM is the certificate and private key read from
	// ClientCertificateFile at load.
	ClientCertificateFile string
	ClientCertificatePEM  SecretBytes
	// Backend is the upstream API.
	Backend defender.BackendKind
	// AuthorityHost is the Entra ID host, without a tenant.
	AuthorityHost string
	// APIURL is the upstream API base; by default the backend's public one.
	APIURL string
	// Scope is the token scope; by default the backend's public .default.
	Scope string
	// PageTokenKey signs page tokens; empty means a random key per process.
	PageTokenKey SecretBytes
	// UpstreamTimeout bounds every upstream HTTP request.
	UpstreamTimeout time.Duration
	// UpstreamMaxIdleConnsPerHost is how many idle keep-alive connections
	// the upstream HTTP client keeps per host (Entra ID, the API).
	UpstreamMaxIdleConnsPerHost int
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// GRPCAddr and HTTPAddr are the listen addresses, host:port.
	GRPCAddr string
	HTTPAddr string
	// Transport is the listeners' limits and timeouts and the admin
	// listener.
	Transport Transport
	// Governor is coalescing and the read cache; Redis the shared state of
	// several replicas; Quota the upstream budgets and their scheduler;
	// Retry the upstream retries and per-call timeouts.
	Governor Governor
	Redis    Redis
	Quota    Quota
	Retry    Retry
	// Watch is WatchIncidents' pollers and streams.
	Watch Watch
	// Fanout is the views across tenants (tenants/-).
	Fanout Fanout
	// Sandbox runs the gateway against its in-process emulator.
	Sandbox bool
	// SandboxEmulatorLimits is SandboxLimitsDocumented or SandboxLimitsOff:
	// whether the sandbox's emulator enforces the documented rate limits.
	SandboxEmulatorLimits string
	// PartnerTenantsFile is the YAML allow-list of the partner context.
	PartnerTenantsFile string
	// PartnerTenants are the customer tenants of the partner context, from
	// the file and DEFENDER_PARTNER_TENANTS, as configured; Partners applies
	// the defaults.
	PartnerTenants []PartnerTenant
	// ConsentRedirectURI is where Entra ID returns a customer's administrator
	// after admin consent; empty means the app's default reply URL.
	ConsentRedirectURI string

	// CallerAuth is how callers authenticate to the gateway: none, mtls,
	// api-key or jwt.
	CallerAuth CallerAuthMode
	// TLSCertFile and TLSKeyFile are the PEM certificate and key both
	// listeners serve TLS with; empty serves plaintext (not with mtls).
	TLSCertFile string
	TLSKeyFile  string
	// ClientCAFile is the PEM bundle of CAs whose client certificates mtls
	// accepts.
	ClientCAFile string
	// APIKeysFile is the YAML file of hashed API keys (api-key mode).
	APIKeysFile string
	// CallerAudiences are the `aud` values accepted in caller tokens (jwt
	// mode) and in user tokens presented for on-behalf-of; empty means the
	// client id and api://{client id}.
	CallerAudiences []string
	// CallerAppRole is the app role (`roles`) app tokens must carry in jwt
	// mode.
	CallerAppRole string
	// CallerScope is the delegated scope (`scp`) user tokens must carry, in
	// jwt mode and when presented for on-behalf-of.
	CallerScope string
	// PolicyFile is the YAML authorization policy; required unless
	// CallerAuth is none.
	PolicyFile string
	// ReloadWatchInterval is how often the reloadable files' content is
	// compared with what was loaded, to reload them on a change as SIGHUP
	// does; 0 is off.
	ReloadWatchInterval time.Duration
	// AuditLogFile receives the audit records (JSON lines); empty writes
	// them to the main log.
	AuditLogFile string
	// AuditQueryText puts the KQL text in audit records, not only its hash.
	AuditQueryText bool
	// UserCacheFile persists the device-code accounts' token cache,
	// encrypted with UserCacheKey (32 bytes); empty keeps it in memory.
	UserCacheFile string
	UserCacheKey  SecretBytes

	// partnerList holds the DEFENDER_PARTNER_TENANTS entries until Load
	// joins them with the file's.
	partnerList []PartnerTenant
}

// Defaults of the settings that have one.
const (
	DefaultBackend         = defender.BackendGraph
	DefaultAuthorityHost   = "https://login.microsoftonline.com"
	DefaultUpstreamTimeout = 60 * time.Second
	// DefaultUpstreamMaxIdleConnsPerHost keeps a connection per call in
	// flight for a busy gateway: Go's default of 2 makes every call beyond
	// the second pay a new TLS handshake.
	DefaultUpstreamMaxIdleConnsPerHost = 64
	DefaultShutdownTimeout             = 15 * time.Second
	DefaultLogLevel                    = "info"
	DefaultGRPCAddr                    = ":50051"
	DefaultHTTPAddr                    = ":8080"
	DefaultCallerAuth                  = CallerAuthNone
	// DefaultCallerAppRole and DefaultCallerScope are the app role and
	// delegated scope a caller's token must carry; the gateway's app
	// registration defines them (docs/auth.md).
	DefaultCallerAppRole = "Gateway.Call"
	DefaultCallerScope   = "access_as_user"
)

// The values of SandboxEmulatorLimits.
const (
	// SandboxLimitsOff: the emulator enforces no rate limits (the default).
	SandboxLimitsOff = "off"
	// SandboxLimitsDocumented: the emulator enforces the documented
	// upstream limits per tenant (emulator.DocumentedLimits).
	SandboxLimitsDocumented = "documented"
)

// CallerAuthMode is how callers authenticate to the gateway.
type CallerAuthMode string

// The caller authentication modes.
const (
	// CallerAuthNone lets every caller in as "anonymous"; allowed only in
	// the sandbox or when every listener is bound to loopback.
	CallerAuthNone CallerAuthMode = "none"
	// CallerAuthMTLS requires a client certificate signed by ClientCAFile.
	CallerAuthMTLS CallerAuthMode = "mtls"
	// CallerAuthAPIKey requires an API key from APIKeysFile.
	CallerAuthAPIKey CallerAuthMode = "api-key"
	// CallerAuthJWT requires an Entra ID access token for the gateway's app.
	CallerAuthJWT CallerAuthMode = "jwt"
)

// userCacheKeyBytes is the AES-256 key length of the user token cache.
const userCacheKeyBytes = 32

// backendDefaults are the public-cloud API base and scope of each backend.
var backendDefaults = map[defender.BackendKind]struct{ APIURL, Scope string }{
	defender.BackendGraph: {"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/.default"},
	defender.BackendXDR:   {"https://api.security.microsoft.com", "https://api.security.microsoft.com/.default"},
}

// defaults returns a Config holding every default; the per-backend API URL
// and scope are filled once the backend is known.
func defaults() *Config {
	c := &Config{
		Backend:                     DefaultBackend,
		AuthorityHost:               DefaultAuthorityHost,
		UpstreamTimeout:             DefaultUpstreamTimeout,
		UpstreamMaxIdleConnsPerHost: DefaultUpstreamMaxIdleConnsPerHost,
		ShutdownTimeout:             DefaultShutdownTimeout,
		LogLevel:                    DefaultLogLevel,
		GRPCAddr:                    DefaultGRPCAddr,
		HTTPAddr:                    DefaultHTTPAddr,
		CallerAuth:                  DefaultCallerAuth,
		CallerAppRole:               DefaultCallerAppRole,
		CallerScope:                 DefaultCallerScope,
		Transport:                   defaultTransport(),
		Governor:                    defaultGovernor(),
		Redis:                       defaultRedis(),
		Quota:                       defaultQuota(),
		Retry:                       defaultRetry(),
		Watch:                       defaultWatch(),
		Fanout:                      defaultFanout(),
	}
	c.SandboxEmulatorLimits = SandboxLimitsOff
	return c
}
