package telemetry

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/defender-gateway/gateway/internal/quota"
)

// Namespace prefixes every metric of the package.
const Namespace = "defender_gateway"

// The token sources of TokenAcquired.
const (
	TokenSourceCache   = "cache"
	TokenSourceNetwork = "network"
)

// Metrics are the gateway's own metrics. The zero value is not usable: build
// one with New. A nil *Metrics records nothing.
type Metrics struct {
	upstreamRequests  *prometheus.CounterVec
	upstreamDuration  *prometheus.HistogramVec
	upstreamThrottled *prometheus.CounterVec
	quotaHolds        *prometheus.CounterVec
	quotaWait         *prometheus.HistogramVec
	tokens            *prometheus.CounterVec
	cacheLookups      *prometheus.CounterVec
	coalesced         *prometheus.CounterVec
	activeStreams     *prometheus.GaugeVec
	watchers          *prometheus.GaugeVec
	pollers           *prometheus.GaugeVec
	watchPolls        *prometheus.CounterVec
	quota             *quotaCollector
	// tenants holds the (backend, tenant) pairs whose series are
	// initialized (initTenant).
	tenants sync.Map
}

// latencyBuckets suit upstream requests and queue waits: 5ms to 3 minutes
// (a hunting query may run that long).
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180}

// New registers the metrics on reg and returns them.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		upstreamRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "upstream_requests_total",
			Help: "Upstream API requests (each attempt), by backend, quota family, tenant and HTTP status code (\"error\": no response).",
		}, []string{"backend", "family", "tenant", "status"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "upstream_request_duration_seconds",
			Help:    "Latency of upstream API requests until the response headers, by backend, quota family and tenant.",
			Buckets: latencyBuckets,
		}, []string{"backend", "family", "tenant"}),
		upstreamThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "upstream_throttled_total",
			Help: "Upstream throttling seen (429s and hunting CPU-quota errors), by backend, quota family and tenant.",
		}, []string{"backend", "family", "tenant"}),
		quotaHolds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "quota_holds_total",
			Help: "Holds the quota scheduler set after upstream throttling, by backend, quota family, tenant and scope (family or tenant).",
		}, []string{"backend", "family", "tenant", "scope"}),
		quotaWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "quota_wait_seconds",
			Help:    "Time upstream requests waited for admission by the quota scheduler, by quota family, tenant and outcome (admitted or refused).",
			Buckets: latencyBuckets,
		}, []string{"family", "tenant", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "token_acquisitions_total",
			Help: "Upstream token acquisitions, by auth context (app, partner, user), source (cache or network) and outcome (ok or error).",
		}, []string{"context", "source", "outcome"}),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "read_cache_lookups_total",
			Help: "Read cache lookups, by quota family and result (hit or miss).",
		}, []string{"family", "result"}),
		coalesced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "coalesced_reads_total",
			Help: "Reads that joined an identical read already in flight instead of calling upstream, by quota family.",
		}, []string{"family"}),
		activeStreams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "active_streams",
			Help: "Server-streaming calls in progress, by gRPC method.",
		}, []string{"method"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "watchers",
			Help: "WatchIncidents streams open on this replica, by tenant.",
		}, []string{"tenant"}),
		pollers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "watch_pollers",
			Help: "Incident pollers running on this replica (one per tenant, context and identity; with Redis one per tenant across replicas), by tenant.",
		}, []string{"tenant"}),
		watchPolls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "watch_polls_total",
			Help: "Polls of the incident pollers, by tenant and outcome.",
		}, []string{"tenant", "outcome"}),
	}
	m.quota = newQuotaCollector()
	// The series of every family start at zero, so that rate() and the
	// dashboard see them before the first event.
	for _, f := range quota.Families {
		m.coalesced.WithLabelValues(string(f))
		m.cacheLookups.WithLabelValues(string(f), "hit")
		m.cacheLookups.WithLabelValues(string(f), "miss")
	}
	for _, c := range []prometheus.Collector{m.upstreamRequests, m.upstreamDuration, m.upstreamThrottled, m.quotaHolds,
		m.quotaWait, m.tokens, m.cacheLookups, m.coalesced, m.activeStreams, m.watchers, m.pollers, m.watchPolls, m.quota} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// label is v, or "unknown" when empty.
func label(v string) string {
	if v == "" {
		return "unknown"
	}
	return v
}

// UpstreamRequest counts one upstream request (an attempt) and its latency;
// status is its HTTP status code, 0 when no response came.
func (m *Metrics) UpstreamRequest(backend, family, tenant string, status int, d time.Duration) {
	if m == nil {
		return
	}
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	backend, family, tenant = label(backend), label(family), label(tenant)
	m.initTenant(backend, tenant)
	m.upstreamRequests.WithLabelValues(backend, family, tenant, code).Inc()
	m.upstreamDuration.WithLabelValues(backend, family, tenant).Observe(d.Seconds())
}

// initTenant starts at zero, the first time a tenant of backend is seen,
// the tenant's series of events that may never happen (throttling, holds,
// watches): a dashboard then shows 0 rather than no data, and every metric
// is on /metrics once the gateway has served a call.
func (m *Metrics) initTenant(backend, tenant string) {
	if _, done := m.tenants.LoadOrStore([2]string{backend, tenant}, true); done {
		return
	}
	for _, f := range quota.Families {
		m.upstreamThrottled.WithLabelValues(backend, string(f), tenant)
		m.quotaHolds.WithLabelValues(backend, string(f), tenant, "family")
		m.quotaHolds.WithLabelValues(backend, string(f), tenant, "tenant")
	}
	m.watchers.WithLabelValues(tenant)
	m.pollers.WithLabelValues(tenant)
	m.watchPolls.WithLabelValues(tenant, PollOK)
	m.watchPolls.WithLabelValues(tenant, PollError)
}

// UpstreamThrottled counts an upstream 429 (or hunting CPU-quota error).
func (m *Metrics) UpstreamThrottled(backend, family, tenant string) {
	if m == nil {
		return
	}
	m.upstreamThrottled.WithLabelValues(label(backend), label(family), label(tenant)).Inc()
}

// TokenAcquired counts one token acquisition of an auth context; source is
// TokenSourceCache or TokenSourceNetwork.
func (m *Metrics) TokenAcquired(context, source string, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.tokens.WithLabelValues(label(context), label(source), outcome).Inc()
}

// TokenObserver is what a token source of one auth context reports to.
type TokenObserver struct {
	m       *Metrics
	context string
}

// Tokens returns the token observer of an auth context (app, partner,
// user); credentials.AppOptions.Observer takes it.
func (m *Metrics) Tokens(context string) TokenObserver { return TokenObserver{m: m, context: context} }

// TokenAcquired counts one acquisition of the observer's context.
func (o TokenObserver) TokenAcquired(source string, err error) {
	o.m.TokenAcquired(o.context, source, err)
}

// CacheLookup counts a read cache lookup of family.
func (m *Metrics) CacheLookup(family string, hit bool) {
	if m == nil {
		return
	}
	result := "miss"
	if hit {
		result = "hit"
	}
	m.cacheLookups.WithLabelValues(label(family), result).Inc()
}

// ReadCoalesced counts a read of family that joined one in flight.
func (m *Metrics) ReadCoalesced(family string) {
	if m == nil {
		return
	}
	m.coalesced.WithLabelValues(label(family)).Inc()
}

// StreamStarted and StreamEnded count a server-streaming call of method
// (its gRPC full method name) in progress.
func (m *Metrics) StreamStarted(method string) {
	if m != nil {
		m.activeStreams.WithLabelValues(method).Inc()
	}
}

// StreamEnded: see StreamStarted.
func (m *Metrics) StreamEnded(method string) {
	if m != nil {
		m.activeStreams.WithLabelValues(method).Dec()
	}
}

// WatcherStarted and WatcherEnded count a WatchIncidents stream of tenant
// (the canonical tenant id) open on this replica.
func (m *Metrics) WatcherStarted(tenant string) {
	if m != nil {
		m.watchers.WithLabelValues(label(tenant)).Inc()
	}
}

// WatcherEnded: see WatcherStarted.
func (m *Metrics) WatcherEnded(tenant string) {
	if m != nil {
		m.watchers.WithLabelValues(label(tenant)).Dec()
	}
}

// PollerStarted and PollerStopped count an incident poller of tenant
// running on this replica.
func (m *Metrics) PollerStarted(tenant string) {
	if m != nil {
		m.pollers.WithLabelValues(label(tenant)).Inc()
	}
}

// PollerStopped: see PollerStarted.
func (m *Metrics) PollerStopped(tenant string) {
	if m != nil {
		m.pollers.WithLabelValues(label(tenant)).Dec()
	}
}

// The outcomes of WatchPoll.
const (
	PollOK        = "ok"        // the poll read the changes
	PollError     = "error"     // the poll failed (it is retried)
	PollThrottled = "throttled" // the quota scheduler or the upstream refused it
	PollFallback  = "fallback"  // $expand=alerts failed; alerts were read per incident
)

// WatchPoll counts one poll of tenant's poller with its outcome (PollOK,
// PollError, PollThrottled, PollFallback).
func (m *Metrics) WatchPoll(tenant, outcome string) {
	if m != nil {
		m.watchPolls.WithLabelValues(label(tenant), label(outcome)).Inc()
	}
}
