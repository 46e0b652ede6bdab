package app

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc/keepalive"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/backends"
	"github.com/defender-gateway/gateway/internal/defender/credentials"
	"github.com/defender-gateway/gateway/internal/pagetoken"
	"github.com/defender-gateway/gateway/internal/server"
	"github.com/defender-gateway/gateway/internal/service"
	"github.com/defender-gateway/gateway/internal/telemetry"
	"github.com/defender-gateway/gateway/internal/watch"
)

// Dependencies are what the gateway takes from its surroundings.
type Dependencies struct {
	// HTTPClient makes every upstream call (Entra ID and the API). Nil
	// builds one from the default transport, which honours SSL_CERT_FILE and
	// the proxy environment variables.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Sandbox serves /sandbox/ on the HTTP listener; only --sandbox sets it.
	Sandbox http.Handler
	// TraceUpstream traces every upstream request (otelhttp spans and the
	// trace context headers); run sets it when tracing is on.
	TraceUpstream bool
}

// Gateway is an assembled, listening gateway.
type Gateway struct {
	Server   *server.Server
	logins   *credentials.DeviceLogins
	security *callerSecurity
	// shared is Redis mode's connection (its Client is nil without Redis).
	shared *sharedState
	// quota is the upstream scheduler and its store (empty when off).
	quota *scheduling
	// watch runs WatchIncidents' shared pollers.
	watch *watch.Hub
	// Metrics are the gateway's own metrics (package telemetry), registered
	// on Registry, which /metrics serves with the gRPC, Go and process
	// metrics.
	Metrics  *telemetry.Metrics
	Registry *prometheus.Registry
	// closeIdle closes the upstream client's idle connections.
	closeIdle func()
	// reloadMu runs one Reload at a time: SIGHUP and the reload watch may
	// ask together.
	reloadMu sync.Mutex
}

// watchCallMargin is how much longer than DEFENDER_WATCH_MAX_DURATION a
// watch may run before its call deadline cuts it (its handler ends it
// first, with OK).
const watchCallMargin = time.Minute

// drain runs when the listeners drain: the calls queued for quota fail
// with SHUTTING_DOWN, and so do the watches, whose clients resume on
// another replica with their cursors.
func (g *Gateway) drain() {
	g.quota.drain()
	if g.watch != nil {
		g.watch.Close()
	}
}

// Reload re-reads the authorization policy, the API keys file and the TLS
// certificate, key and client CAs (on SIGHUP). Calls in flight keep what
// they started with, and established connections their TLS session; a
// file that fails validation is reported and the previous version stays
// in force.
func (g *Gateway) Reload() error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	return g.security.reload()
}

// Close releases what Build started besides the server: the device-code
// sign-ins still polling, the audit file, the quota scheduler and the
// Redis connection. Call it after Serve returns.
func (g *Gateway) Close() {
	if g.watch != nil {
		g.watch.Close()
	}
	g.quota.close()
	g.logins.Close()
	g.security.close()
	g.shared.close()
	if g.closeIdle != nil {
		g.closeIdle()
	}
}

// Build assembles the gateway from a validated configuration and binds its
// listeners.
func Build(cfg *config.Config, deps Dependencies) (*Gateway, error) {
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	httpClient, closeIdle := upstreamClient(deps.HTTPClient, cfg.UpstreamTimeout, cfg.UpstreamMaxIdleConnsPerHost, deps.TraceUpstream)
	registry, metrics, err := newMetrics()
	if err != nil {
		return nil, err
	}

	// Every confidential client is the gateway's app registration with its
	// credential; contexts differ in tenant, authority and scope.
	// kind is the auth context's, the label of its token metrics.
	appOptions := func(kind, authorityHost, tenant, scope string, logAttrs ...any) credentials.AppOptions {
		return credentials.AppOptions{
			AuthorityHost:  authorityHost,
			TenantID:       tenant,
			ClientID:       cfg.ClientID,
			ClientSecret:   string(cfg.ClientSecret),
			CertificatePEM: []byte(cfg.ClientCertificatePEM),
			Scope:          scope,
			HTTPClient:     httpClient,
			Logger:         logger.With(append([]any{"component", "credentials"}, logAttrs...)...),
			Observer:       metrics.Tokens(kind),
		}
	}
	tokens, err := credentials.NewApp(appOptions(authctx.KindApp, cfg.AuthorityHost, cfg.TenantID, cfg.Scope))
	if err != nil {
		return nil, err
	}
	newPartnerTokens := func(t authctx.PartnerTenant) (defender.TokenSource, error) {
		return credentials.NewApp(appOptions(authctx.KindPartner, t.AuthorityHost, t.Tenant, t.Scope, "context", authctx.KindPartner))
	}
	shared, err := openSharedState(cfg, logger)
	if err != nil {
		return nil, err
	}
	shared.logMode(logger)
	loginOpts, err := deviceLoginOptions(cfg, shared, httpClient, logger)
	if err != nil {
		shared.close()
		return nil, err
	}
	loginOpts.Observer = metrics.Tokens(authctx.KindUser)
	logins, err := credentials.NewDeviceLogins(loginOpts)
	if err != nil {
		shared.close()
		return nil, err
	}
	newOnBehalfOf := func(t authctx.TenantConfig) (defender.TokenSource, error) {
		return credentials.NewOnBehalfOf(appOptions(authctx.KindUser, t.AuthorityHost, t.Tenant, t.Scope, "context", authctx.KindUser))
	}
	contexts, err := authctx.New(authctx.Options{
		App: authctx.AppContext{
			Tenant:         cfg.TenantID,
			ClientID:       cfg.ClientID,
			Backend:        cfg.Backend,
			APIURL:         cfg.APIURL,
			AuthorityHost:  cfg.AuthorityHost,
			Scope:          cfg.Scope,
			CredentialKind: tokens.CredentialKind(),
			Tokens:         tokens,
		},
		Partner: authctx.PartnerContext{
			ClientID:           cfg.ClientID,
			CredentialKind:     tokens.CredentialKind(),
			Tenants:            partnerTenants(cfg),
			ConsentRedirectURI: cfg.ConsentRedirectURI,
			NewTokens:          newPartnerTokens,
		},
		User: authctx.UserContext{
			ClientID:       cfg.ClientID,
			CredentialKind: tokens.CredentialKind(),
			NewOnBehalfOf:  newOnBehalfOf,
			Accounts:       deviceAccounts{logins},
		},
		HTTPClient: httpClient,
		NewBackend: retryingBackends(cfg, metrics),
		Logger:     logger.With("component", "defender"),
	})
	if err != nil {
		logins.Close()
		shared.close()
		return nil, err
	}
	security, err := buildCallerSecurity(cfg, contexts, httpClient, logger)
	if err != nil {
		logins.Close()
		shared.close()
		return nil, err
	}
	gw := &Gateway{logins: logins, security: security, shared: shared, Metrics: metrics, Registry: registry, closeIdle: closeIdle}
	pageTokens, err := pageTokenCodec(cfg, shared)
	if err != nil {
		gw.Close()
		return nil, err
	}
	gw.quota, err = newScheduling(cfg, shared, logger)
	if err != nil {
		gw.Close()
		return nil, err
	}
	// GetQuota reads the scheduler's state; a nil reader (quota off)
	// answers with enabled false.
	var quotaReader service.QuotaReader
	if sched := gw.quota.scheduler(); sched != nil {
		quotaReader = sched
	}
	// The governor's scheduler is measured (admission waits, holds, and the
	// budgets at scrape time); GetQuota reads the scheduler itself.
	gov, err := newGovernor(cfg.Governor, contexts, telemetry.InstrumentScheduler(gw.quota.scheduler(), metrics), metrics, logger)
	if err != nil {
		gw.Close()
		return nil, err
	}
	gw.watch, err = newWatchHub(cfg, shared, metrics, logger)
	if err != nil {
		gw.Close()
		return nil, err
	}
	gw.Server, err = server.New(server.Options{
		GRPCAddr: cfg.GRPCAddr,
		HTTPAddr: cfg.HTTPAddr,
		Services: server.Services{
			Incidents: service.NewIncidentService(gov, pageTokens, logger,
				service.WithWatch(gw.watch, cfg.Watch.Heartbeat, 0, cfg.Watch.MaxDuration),
				service.WithFanout(contexts, cfg.Fanout.Concurrency)),
			Hunting: service.NewHuntingService(gov, logger, service.WithMaxResultBytes(cfg.Transport.HuntingMaxResultBytes),
				service.WithHuntingFanout(contexts, cfg.Fanout.Concurrency)),
			Auth:  service.NewAuthService(contexts, logins, logger),
			Quota: service.NewQuotaService(contexts, quotaReader, logger),
			Alerts: service.NewAlertService(gov, pageTokens, logger,
				service.WithAlertFanout(contexts, cfg.Fanout.Concurrency),
				service.WithAlertWatch(gw.watch, cfg.Watch.Heartbeat, 0, cfg.Watch.MaxDuration)),
		},
		Logger:          logger,
		Metrics:         registry,
		Telemetry:       metrics,
		ShutdownTimeout: cfg.ShutdownTimeout,
		TLS:             security.tls,
		CallerAuth:      security.authn,
		Policy:          security.policies,
		Audit:           security.audit,

		MaxRequestBodyBytes: cfg.Transport.HTTPMaxBodyBytes,
		Limits:              serverLimits(cfg.Transport),
		AdminAddr:           cfg.Transport.AdminAddr,
		Pprof:               cfg.Transport.Pprof,
		Sandbox:             deps.Sandbox,
		CallTimeouts: server.CallTimeouts{Default: cfg.Retry.CallTimeout, Hunting: cfg.Retry.HuntingCallTimeout,
			StreamWrite: cfg.Transport.StreamWriteTimeout, Watch: cfg.Watch.MaxDuration + watchCallMargin},
		OnShutdown: gw.drain,
	})
	if err != nil {
		gw.Close()
		return nil, err
	}
	return gw, nil
}

// serverLimits are the API listeners' limits of the configuration.
func serverLimits(t config.Transport) server.Limits {
	return server.Limits{
		HTTPMaxHeaderBytes:       t.HTTPMaxHeaderBytes,
		HTTPReadHeaderTimeout:    t.HTTPReadHeaderTimeout,
		HTTPReadTimeout:          t.HTTPReadTimeout,
		HTTPWriteTimeout:         t.HTTPWriteTimeout,
		HTTPIdleTimeout:          t.HTTPIdleTimeout,
		GRPCMaxRecvMsgBytes:      t.GRPCMaxRecvMsgBytes,
		GRPCMaxHeaderListBytes:   t.GRPCMaxHeaderListBytes,
		GRPCMaxConcurrentStreams: t.GRPCMaxConcurrentStreams,
		GRPCKeepaliveEnforcement: keepalive.EnforcementPolicy{
			MinTime:             t.GRPCKeepaliveMinTime,
			PermitWithoutStream: t.GRPCKeepalivePermitWithoutStream,
		},
		GRPCKeepalive: keepalive.ServerParameters{
			MaxConnectionIdle:     t.GRPCMaxConnectionIdle,
			MaxConnectionAge:      t.GRPCMaxConnectionAge,
			MaxConnectionAgeGrace: t.GRPCMaxConnectionAgeGrace,
			Time:                  t.GRPCKeepaliveTime,
			Timeout:               t.GRPCKeepaliveTimeout,
		},
	}
}

// partnerTenants is the partner allow-list with the defaults applied.
func partnerTenants(cfg *config.Config) []authctx.PartnerTenant {
	var out []authctx.PartnerTenant
	for _, t := range cfg.Partners() {
		out = append(out, authctx.PartnerTenant{
			Tenant:        t.Tenant,
			DisplayName:   t.DisplayName,
			Backend:       t.Backend,
			APIURL:        t.APIURL,
			AuthorityHost: t.AuthorityHost,
			Scope:         t.Scope,
		})
	}
	return out
}

// retryingBackends is backends.New with the configured retry policy,
// the upstream metrics and request timeouts: each attempt is bounded by DEFENDER_UPSTREAM_TIMEOUT
// (the client's Timeout, which the defender client applies per attempt),
// a hunting attempt by DEFENDER_HUNTING_CALL_TIMEOUT when that is longer.
func retryingBackends(cfg *config.Config, metrics *telemetry.Metrics) defender.BackendFactory {
	policy := defender.RetryPolicy{MaxAttempts: cfg.Retry.MaxAttempts, BaseDelay: cfg.Retry.BaseDelay, MaxDelay: cfg.Retry.MaxDelay}
	return func(kind defender.BackendKind, opts defender.ClientOptions) (defender.Backend, error) {
		opts.Observer = metrics
		opts.Retry = policy
		opts.RequestTimeout = cfg.UpstreamTimeout
		opts.HuntingRequestTimeout = cfg.Retry.HuntingCallTimeout
		return backends.New(kind, opts)
	}
}

// pageTokenCodec signs with the configured key, else the one shared in
// Redis, else a random key of this process.
func pageTokenCodec(cfg *config.Config, shared *sharedState) (*pagetoken.Codec, error) {
	key, err := shared.pageTokenKey(cfg)
	if err != nil {
		return nil, err
	}
	if len(key) > 0 {
		return pagetoken.New(key)
	}
	return pagetoken.NewRandom(), nil
}

// newMetrics is the registry /metrics serves, with the Go and process
// collectors, and the gateway's own metrics on it.
func newMetrics() (*prometheus.Registry, *telemetry.Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := telemetry.New(reg)
	if err != nil {
		return nil, nil, err
	}
	return reg, m, nil
}
