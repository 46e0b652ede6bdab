package telemetry

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/defender-gateway/gateway/internal/quota"
)

// scrapeTimeout bounds the scheduler's State reads of one scrape (with
// Redis they are Redis commands).
const scrapeTimeout = 2 * time.Second

// InstrumentScheduler returns s measured into m: how long each Admit
// waited, each hold Throttled sets, and, at scrape time, the budgets
// (remaining, limit, queued, held) of every tenant and backend s has
// admitted calls for. With m nil it returns s.
func InstrumentScheduler(s quota.Scheduler, m *Metrics) quota.Scheduler {
	if m == nil || s == nil {
		return s
	}
	m.quota.setSource(s)
	return &scheduler{inner: s, m: m, now: time.Now}
}

type scheduler struct {
	inner quota.Scheduler
	m     *Metrics
	now   func() time.Time
}

func (s *scheduler) Admit(ctx context.Context, c quota.Call) error {
	s.m.quota.seen(c.Tenant, c.Backend)
	s.m.initTenant(label(c.Backend), label(strings.ToLower(c.Tenant)))
	start := s.now()
	err := s.inner.Admit(ctx, c)
	outcome := "admitted"
	if err != nil {
		outcome = "refused"
	}
	s.m.quotaWait.WithLabelValues(string(c.Family), label(strings.ToLower(c.Tenant)), outcome).Observe(s.now().Sub(start).Seconds())
	return err
}

func (s *scheduler) Throttled(c quota.Call, scope quota.HoldScope, retryAfter time.Duration) {
	name := "family"
	if scope == quota.HoldTenant {
		name = "tenant"
	}
	s.m.quotaHolds.WithLabelValues(label(c.Backend), string(c.Family), label(strings.ToLower(c.Tenant)), name).Inc()
	s.inner.Throttled(c, scope, retryAfter)
}

func (s *scheduler) State(ctx context.Context, tenant, backend string) ([]quota.BudgetState, error) {
	return s.inner.State(ctx, tenant, backend)
}

// quotaCollector reads the scheduler's budgets at scrape time, as GetQuota
// does, for every tenant and backend the scheduler has admitted calls for
// (a set bounded by the configuration's tenants).
type quotaCollector struct {
	remaining, limit, queued, held *prometheus.Desc
	now                            func() time.Time

	mu     sync.Mutex
	source quota.Scheduler
	lanes  map[[2]string]bool // tenant, backend
}

func newQuotaCollector() *quotaCollector {
	labels := []string{"backend", "family", "tenant", "window"}
	desc := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	famLabels := []string{"backend", "family", "tenant"}
	return &quotaCollector{
		remaining: desc("quota_remaining", "Calls left in a quota budget window now, by backend, quota family (whole-api: the windows every family shares), tenant and window.", labels),
		limit:     desc("quota_limit", "Calls a quota budget window allows, by backend, quota family, tenant and window.", labels),
		queued:    desc("quota_queued", "Upstream requests queued in the quota scheduler on this replica, by backend, quota family and tenant.", famLabels),
		held:      desc("quota_held_seconds", "Seconds until the hold an upstream 429 set ends (0: none), by backend, quota family and tenant.", famLabels),
		now:       time.Now,
		lanes:     map[[2]string]bool{},
	}
}

func (q *quotaCollector) setSource(s quota.Scheduler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.source = s
}

func (q *quotaCollector) seen(tenant, backend string) {
	k := [2]string{strings.ToLower(tenant), backend}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lanes[k] = true
}

func (q *quotaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- q.remaining
	ch <- q.limit
	ch <- q.queued
	ch <- q.held
}

func (q *quotaCollector) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	source := q.source
	lanes := make([][2]string, 0, len(q.lanes))
	for k := range q.lanes {
		lanes = append(lanes, k)
	}
	q.mu.Unlock()
	if source == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	now := q.now()
	for _, k := range lanes {
		tenant, backend := k[0], k[1]
		states, err := source.State(ctx, tenant, backend)
		if err != nil {
			continue // the store is unreachable: no series this scrape
		}
		done := map[quota.Family]bool{}
		for _, st := range states {
			fam := string(st.Family)
			window := st.Window.String()
			ch <- prometheus.MustNewConstMetric(q.remaining, prometheus.GaugeValue, float64(st.Remaining), backend, fam, tenant, window)
			ch <- prometheus.MustNewConstMetric(q.limit, prometheus.GaugeValue, float64(st.Limit), backend, fam, tenant, window)
			if done[st.Family] {
				continue
			}
			done[st.Family] = true
			// Queued and the hold are the family's, repeated per window.
			ch <- prometheus.MustNewConstMetric(q.queued, prometheus.GaugeValue, float64(st.Queued), backend, fam, tenant)
			held := 0.0
			if st.HeldUntil.After(now) {
				held = st.HeldUntil.Sub(now).Seconds()
			}
			ch <- prometheus.MustNewConstMetric(q.held, prometheus.GaugeValue, held, backend, fam, tenant)
		}
	}
}
