package telemetry

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/defender-gateway/gateway/internal/quota"
)

func newMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// TestNilMetrics: every method of a nil *Metrics is a no-op.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.UpstreamRequest("graph", "hunting", "t", 200, time.Second)
	m.UpstreamThrottled("graph", "hunting", "t")
	m.TokenAcquired("app", TokenSourceCache, nil)
	m.Tokens("app").TokenAcquired(TokenSourceNetwork, nil)
	m.CacheLookup("hunting", true)
	m.ReadCoalesced("hunting")
	m.StreamStarted("/x")
	m.StreamEnded("/x")
	m.WatcherStarted("t")
	m.WatcherEnded("t")
	m.PollerStarted("t")
	m.PollerStopped("t")
	m.WatchPoll("t", PollOK)
	if s := InstrumentScheduler(nil, m); s != nil {
		t.Errorf("InstrumentScheduler(nil, nil) = %v", s)
	}
}

func TestMetricsRecord(t *testing.T) {
	tests := []struct {
		name   string
		record func(m *Metrics)
		metric string
		want   string
	}{
		{"upstream ok", func(m *Metrics) { m.UpstreamRequest("graph", "incident-read", "t1", 200, 10*time.Millisecond) },
			"defender_gateway_upstream_requests_total",
			`defender_gateway_upstream_requests_total{backend="graph",family="incident-read",status="200",tenant="t1"} 1`},
		{"upstream no response", func(m *Metrics) { m.UpstreamRequest("xdr", "hunting", "", 0, time.Millisecond) },
			"defender_gateway_upstream_requests_total",
			`defender_gateway_upstream_requests_total{backend="xdr",family="hunting",status="error",tenant="unknown"} 1`},
		{"upstream latency", func(m *Metrics) { m.UpstreamRequest("graph", "hunting", "t1", 429, 2*time.Second) },
			"defender_gateway_upstream_request_duration_seconds",
			`defender_gateway_upstream_request_duration_seconds_sum{backend="graph",family="hunting",tenant="t1"} 2`},
		{"throttled", func(m *Metrics) {
			m.UpstreamThrottled("graph", "hunting", "t1")
			m.UpstreamThrottled("graph", "hunting", "t1")
		},
			"defender_gateway_upstream_throttled_total",
			`defender_gateway_upstream_throttled_total{backend="graph",family="hunting",tenant="t1"} 2`},
		{"token cache", func(m *Metrics) { m.Tokens("partner").TokenAcquired(TokenSourceCache, nil) },
			"defender_gateway_token_acquisitions_total",
			`defender_gateway_token_acquisitions_total{context="partner",outcome="ok",source="cache"} 1`},
		{"token failure", func(m *Metrics) { m.TokenAcquired("app", TokenSourceNetwork, errors.New("x")) },
			"defender_gateway_token_acquisitions_total",
			`defender_gateway_token_acquisitions_total{context="app",outcome="error",source="network"} 1`},
		{"cache", func(m *Metrics) { m.CacheLookup("incident-get", true); m.CacheLookup("incident-get", false) },
			"defender_gateway_read_cache_lookups_total",
			`defender_gateway_read_cache_lookups_total{family="incident-get",result="hit"} 1`},
		{"coalesced", func(m *Metrics) { m.ReadCoalesced("hunting") },
			"defender_gateway_coalesced_reads_total", `defender_gateway_coalesced_reads_total{family="hunting"} 1`},
		{"streams", func(m *Metrics) { m.StreamStarted("/a/B"); m.StreamStarted("/a/B"); m.StreamEnded("/a/B") },
			"defender_gateway_active_streams", `defender_gateway_active_streams{method="/a/B"} 1`},
		{"watchers", func(m *Metrics) { m.WatcherStarted("t1"); m.WatcherStarted("t1"); m.WatcherEnded("t1") },
			"defender_gateway_watchers", `defender_gateway_watchers{tenant="t1"} 1`},
		{"pollers", func(m *Metrics) { m.PollerStarted("t1"); m.PollerStopped("t1"); m.PollerStarted("t2") },
			"defender_gateway_watch_pollers", `defender_gateway_watch_pollers{tenant="t2"} 1`},
		{"polls", func(m *Metrics) { m.WatchPoll("t1", PollFallback) },
			"defender_gateway_watch_polls_total", `defender_gateway_watch_polls_total{outcome="fallback",tenant="t1"} 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := newMetrics(t)
			tt.record(m)
			got := gather(t, reg, tt.metric)
			if !strings.Contains(got, tt.want+"\n") {
				t.Errorf("%s:\n%s\nwant a line %s", tt.metric, got, tt.want)
			}
		})
	}
}

// gather is the text exposition of the metric name on reg.
func gather(t *testing.T, reg *prometheus.Registry, name string) string {
	t.Helper()
	var b strings.Builder
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mm := range mf.GetMetric() {
			labels := []string{}
			for _, lp := range mm.GetLabel() {
				labels = append(labels, lp.GetName()+`="`+lp.GetValue()+`"`)
			}
			lbl := "{" + strings.Join(labels, ",") + "}"
			switch {
			case mm.Counter != nil:
				b.WriteString(name + lbl + " " + fmtFloat(mm.GetCounter().GetValue()) + "\n")
			case mm.Gauge != nil:
				b.WriteString(name + lbl + " " + fmtFloat(mm.GetGauge().GetValue()) + "\n")
			case mm.Histogram != nil:
				b.WriteString(name + "_sum" + lbl + " " + fmtFloat(mm.GetHistogram().GetSampleSum()) + "\n")
				b.WriteString(name + "_count" + lbl + " " + fmtFloat(float64(mm.GetHistogram().GetSampleCount())) + "\n")
			}
		}
	}
	return b.String()
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// fakeScheduler admits after wait, or fails with err, and answers State
// with states.
type fakeScheduler struct {
	wait    time.Duration
	err     error
	states  []quota.BudgetState
	holds   []quota.HoldScope
	clock   *time.Time
	stateOf [][2]string
}

func (f *fakeScheduler) Admit(context.Context, quota.Call) error {
	*f.clock = f.clock.Add(f.wait)
	return f.err
}

func (f *fakeScheduler) Throttled(_ quota.Call, scope quota.HoldScope, _ time.Duration) {
	f.holds = append(f.holds, scope)
}

func (f *fakeScheduler) State(_ context.Context, tenant, backend string) ([]quota.BudgetState, error) {
	f.stateOf = append(f.stateOf, [2]string{tenant, backend})
	return f.states, nil
}

// TestInstrumentScheduler: Admit's wait and outcome, the holds, and the
// budgets read at scrape time for the tenants seen.
func TestInstrumentScheduler(t *testing.T) {
	m, reg := newMetrics(t)
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	fake := &fakeScheduler{wait: 1500 * time.Millisecond, clock: &now, states: []quota.BudgetState{
		{Family: quota.FamilyHunting, Window: time.Minute, Limit: 45, Remaining: 40, Queued: 2, HeldUntil: now.Add(33 * time.Second)},
		{Family: quota.FamilyHunting, Window: time.Hour, Limit: 1500, Remaining: 1400, Queued: 2, HeldUntil: now.Add(33 * time.Second)},
		{Family: quota.FamilyWholeAPI, Window: time.Minute, Limit: 50, Remaining: 7},
	}}
	// Each Admit advances the clock by 1.5s: the holds end 33-3 = 30s on.
	s := InstrumentScheduler(fake, m).(*scheduler)
	s.now = func() time.Time { return now }
	m.quota.now = func() time.Time { return now }

	call := quota.Call{Tenant: "T1", Backend: "xdr", Family: quota.FamilyHunting}
	if err := s.Admit(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	fake.err = errors.New("exhausted")
	if err := s.Admit(context.Background(), call); err == nil {
		t.Fatal("Admit: want the inner error")
	}
	s.Throttled(call, quota.HoldTenant, time.Second)

	wants := map[string][]string{
		"defender_gateway_quota_wait_seconds": {
			`defender_gateway_quota_wait_seconds_sum{family="hunting",outcome="admitted",tenant="t1"} 1.5`,
			`defender_gateway_quota_wait_seconds_count{family="hunting",outcome="refused",tenant="t1"} 1`,
		},
		"defender_gateway_quota_holds_total": {`defender_gateway_quota_holds_total{backend="xdr",family="hunting",scope="tenant",tenant="t1"} 1`},
		"defender_gateway_quota_remaining": {
			`defender_gateway_quota_remaining{backend="xdr",family="hunting",tenant="t1",window="1m0s"} 40`,
			`defender_gateway_quota_remaining{backend="xdr",family="hunting",tenant="t1",window="1h0m0s"} 1400`,
			`defender_gateway_quota_remaining{backend="xdr",family="whole-api",tenant="t1",window="1m0s"} 7`,
		},
		"defender_gateway_quota_limit":        {`defender_gateway_quota_limit{backend="xdr",family="hunting",tenant="t1",window="1m0s"} 45`},
		"defender_gateway_quota_queued":       {`defender_gateway_quota_queued{backend="xdr",family="hunting",tenant="t1"} 2`},
		"defender_gateway_quota_held_seconds": {`defender_gateway_quota_held_seconds{backend="xdr",family="hunting",tenant="t1"} 30`, `defender_gateway_quota_held_seconds{backend="xdr",family="whole-api",tenant="t1"} 0`},
	}
	for name, lines := range wants {
		got := gather(t, reg, name)
		for _, line := range lines {
			if !strings.Contains(got, line+"\n") {
				t.Errorf("%s:\n%s\nwant a line %s", name, got, line)
			}
		}
	}
	if len(fake.holds) != 1 || fake.holds[0] != quota.HoldTenant {
		t.Errorf("holds passed on: %v", fake.holds)
	}
	if len(fake.stateOf) == 0 || fake.stateOf[0] != [2]string{"t1", "xdr"} {
		t.Errorf("State read for %v, want t1/xdr", fake.stateOf)
	}
}

// TestSeriesStartAtZero: the per-family series exist from the start, and a
// tenant's throttling, hold and watch series from its first request.
func TestSeriesStartAtZero(t *testing.T) {
	m, reg := newMetrics(t)
	if got := gather(t, reg, "defender_gateway_coalesced_reads_total"); !strings.Contains(got, `{family="hunting"} 0`+"\n") {
		t.Errorf("coalesced reads before any read:\n%s", got)
	}
	if got := gather(t, reg, "defender_gateway_watchers"); got != "" {
		t.Errorf("watchers before any tenant:\n%s", got)
	}
	m.UpstreamRequest("graph", "incident-read", "t1", 200, time.Millisecond)
	m.UpstreamRequest("graph", "incident-get", "t1", 200, time.Millisecond)
	for name, line := range map[string]string{
		"defender_gateway_upstream_throttled_total": `{backend="graph",family="hunting",tenant="t1"} 0`,
		"defender_gateway_quota_holds_total":        `{backend="graph",family="incident-write",scope="tenant",tenant="t1"} 0`,
		"defender_gateway_watchers":                 `{tenant="t1"} 0`,
		"defender_gateway_watch_pollers":            `{tenant="t1"} 0`,
		"defender_gateway_watch_polls_total":        `{outcome="ok",tenant="t1"} 0`,
	} {
		if got := gather(t, reg, name); !strings.Contains(got, name+line+"\n") {
			t.Errorf("%s:\n%s\nwant %s%s", name, got, name, line)
		}
	}
}
