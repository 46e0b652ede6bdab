package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// dashboardFile is the Grafana dashboard the repository ships.
const dashboardFile = "../../deploy/grafana/defender-gateway.json"

// dashboard is the part of a Grafana dashboard that holds queries.
type dashboard struct {
	Panels     []dashboardPanel `json:"panels"`
	Templating struct {
		List []struct {
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type dashboardPanel struct {
	Type    string           `json:"type"`
	Title   string           `json:"title"`
	Panels  []dashboardPanel `json:"panels"` // a collapsed row's
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

var (
	promString    = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promBraces    = regexp.MustCompile(`\{[^{}]*\}|\[[^\[\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	labelValuesOf = regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	promKeywords  = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "le": true}
)

// metricNames are the metric names a PromQL expression selects.
func metricNames(expr string) []string {
	s := promString.ReplaceAllString(expr, `""`)
	for prev := ""; prev != s; {
		prev = s
		s = promBraces.ReplaceAllString(s, " ")
	}
	s = promGrouping.ReplaceAllString(s, " ")
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || promKeywords[name] {
			continue // a function or a keyword
		}
		names = append(names, name)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (grpc_method, grpc_code) (rate(grpc_server_handled_total{job=~"$job", grpc_code!="OK"}[$__rate_interval]))`, []string{"grpc_server_handled_total"}},
		{`histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{x="}"}[5m])))`, []string{"a_seconds_bucket"}},
		{`min by (t) (a_remaining{j=~"$j"} / a_limit{j=~"$j"})`, []string{"a_remaining", "a_limit"}},
		{`go_goroutines`, []string{"go_goroutines"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%s) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// dashboardMetrics are the metric names the dashboard's panels and
// variables query.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	seen := map[string]bool{}
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			walk(p.Panels)
			if len(p.Targets) == 0 && p.Type != "row" {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				names := metricNames(tg.Expr)
				if len(names) == 0 {
					t.Errorf("panel %q: no metric in %q", p.Title, tg.Expr)
				}
				for _, n := range names {
					seen[n] = true
				}
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		var q struct{ Query string }
		var s string
		if json.Unmarshal(v.Query, &s) != nil {
			_ = json.Unmarshal(v.Query, &q)
			s = q.Query
		}
		for _, m := range labelValuesOf.FindAllStringSubmatch(s, -1) {
			seen[m[1]] = true
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// exposes reports whether the exposition text has a series or the HELP
// line of name: a histogram's _bucket, _sum and _count are its base name's.
func exposes(text, name string) bool {
	bases := []string{name}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			bases = append(bases, base)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			return true
		}
		for _, b := range bases {
			if strings.HasPrefix(line, "# HELP "+b+" ") {
				return true
			}
		}
	}
	return false
}

// TestDashboardMetricsExist: every metric the Grafana dashboard queries is
// on a real gateway's /metrics after a few calls, and the calls produced
// the series the dashboard's main panels show. Without OTEL_* the call log
// lines carry no trace id.
func TestDashboardMetricsExist(t *testing.T) {
	names := dashboardMetrics(t)
	if len(names) < 20 {
		t.Fatalf("only %d metrics found in the dashboard: %v", len(names), names)
	}
	_, rest, logs, _ := startSandboxEnv(t, envOf(nil))
	call := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, rest+path, strings.NewReader(body))
		req.Header.Set("X-Request-Id", "dash-"+strings.NewReplacer("/", "-", "?", "-", ":", "-").Replace(path))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
	}
	call(http.MethodGet, "/v1/tenants/default/incidents?pageSize=2", "")
	call(http.MethodGet, "/v1/tenants/default/incidents?pageSize=2", "")
	call(http.MethodGet, "/v1/tenants/default/incidents/1000", "")
	call(http.MethodPost, "/v1/tenants/default:runHuntingQuery", `{"query":"AlertInfo | take 3"}`)
	call(http.MethodPost, "/v1/tenants/default:streamHuntingQuery", `{"query":"AlertInfo | take 3","maxBatchRows":2}`)
	call(http.MethodGet, "/v1/tenants/default/quota", "")

	resp, err := http.Get(rest + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(data)
	for _, n := range names {
		if !exposes(text, n) {
			t.Errorf("the dashboard queries %s, which /metrics does not expose", n)
		}
	}
	tenant := `tenant="` + identity.HomeTenantID + `"`
	for _, series := range []string{
		`defender_gateway_upstream_requests_total{backend="graph",family="incident-read",status="200",` + tenant + `}`,
		`defender_gateway_upstream_requests_total{backend="graph",family="hunting",status="200",` + tenant + `}`,
		`defender_gateway_upstream_request_duration_seconds_bucket{backend="graph",family="incident-get",` + tenant,
		`defender_gateway_token_acquisitions_total{context="app",outcome="ok",source="network"}`,
		`defender_gateway_token_acquisitions_total{context="app",outcome="ok",source="cache"}`,
		`defender_gateway_quota_wait_seconds_bucket{family="hunting",outcome="admitted",` + tenant,
		`defender_gateway_quota_remaining{backend="graph",family="incident-read",` + tenant,
		`defender_gateway_active_streams{method="/defender.v1.HuntingService/StreamQuery"} 0`,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="StreamQuery"`,
	} {
		if !strings.Contains(text, series) {
			t.Errorf("/metrics has no series %s", series)
		}
	}
	for _, rec := range logRecords(t, logs.String()) {
		if rec["msg"] == "finished call" && rec["trace_id"] != nil {
			t.Errorf("a call line has a trace id with tracing off: %v", rec)
		}
	}
}
