package xdr

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

var severityCycle = []string{"High", "Low", "Medium", "Informational", "UnSpecified", "High", "Low"}

// xdrListServer serves n incidents, ids n..1 (newest first), with numeric
// ids and alerts, paged by $top (at most 100, like XDR) and $skip. sev gives
// the severity of the incident at position i.
func xdrListServer(t *testing.T, n int, sev func(i int) string) (string, *defendertest.Recorder) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, r *http.Request, _ defendertest.RecordedRequest) {
		q := r.URL.Query()
		top, _ := strconv.Atoi(q.Get("$top"))
		skip, _ := strconv.Atoi(q.Get("$skip"))
		if r.URL.Path != "/api/incidents" || top < 1 || top > 100 {
			defendertest.WriteJSON(w, 400, map[string]any{"error": map[string]any{"code": "BadRequest", "message": "bad paging"}})
			return
		}
		value := []map[string]any{}
		for i := skip; i < min(skip+top, n); i++ {
			value = append(value, map[string]any{
				"incidentId": n - i, "redirectIncidentId": nil, "severity": sev(i), "status": "Active",
				"alerts": []any{map[string]any{"alertId": "da" + strconv.Itoa(n-i), "incidentId": n - i}},
			})
		}
		defendertest.WriteJSON(w, 200, map[string]any{"@odata.context": "x", "value": value})
	})
	return srv.URL, rec
}

func TestXDRListSeverityFilterPaging(t *testing.T) {
	cycle := func(i int) string { return severityCycle[i%len(severityCycle)] }
	tests := []struct {
		name  string
		n     int
		sev   func(int) string
		want  []defender.Severity
		sizes []int
	}{
		{"no filter, small pages", 230, cycle, nil, []int{7}},
		{"no filter, big pages", 230, cycle, nil, []int{500}},
		{"no filter, exact end", 200, cycle, nil, []int{100}},
		{"high, small pages", 230, cycle, []defender.Severity{defender.SeverityHigh}, []int{7}},
		{"high, changing sizes", 530, cycle, []defender.Severity{defender.SeverityHigh}, []int{1, 50, 13, 500}},
		{"low or medium", 230, cycle, []defender.Severity{defender.SeverityLow, defender.SeverityMedium}, []int{30}},
		{"unspecified upstream is unknown", 230, cycle, []defender.Severity{defender.SeverityUnknown}, []int{9}},
		{"no match", 230, func(int) string { return "Low" }, []defender.Severity{defender.SeverityHigh}, []int{10}},
		{"empty", 0, cycle, []defender.Severity{defender.SeverityHigh}, []int{10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, rec := xdrListServer(t, tt.n, tt.sev)
			got := defendertest.Drain(t, newTestXDR(t, base), defender.ListQuery{Filter: defender.IncidentFilter{Severities: tt.want}}, tt.sizes)
			var want []string
			for i := range tt.n {
				if len(tt.want) == 0 || slices.Contains(tt.want, upstream.ParseSeverity(tt.sev(i))) {
					want = append(want, strconv.Itoa(tt.n-i))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("ids =\n %v\nwant\n %v", got, want)
			}
			for _, r := range rec.All() {
				top := url.Values(r.Query).Get("$top")
				if len(tt.want) > 0 && top != "100" {
					t.Errorf("$top = %s with a local filter, want full pages of 100", top)
				}
				if f := url.Values(r.Query).Get("$filter"); f != "" {
					t.Errorf("severity must not reach the upstream $filter: %q", f)
				}
			}
		})
	}
}

func TestXDRListTopFollowsPageSizeWithoutLocalFilter(t *testing.T) {
	base, rec := xdrListServer(t, 500, func(int) string { return "High" })
	x := newTestXDR(t, base)
	page, err := x.ListIncidents(context.Background(), defender.ListQuery{PageSize: 250})
	if err != nil {
		t.Fatal(err)
	}
	var tops, skips []string
	for _, r := range rec.All() {
		tops = append(tops, url.Values(r.Query).Get("$top"))
		skips = append(skips, url.Values(r.Query).Get("$skip"))
	}
	if !slices.Equal(tops, []string{"100", "100", "50"}) || !slices.Equal(skips, []string{"", "100", "200"}) {
		t.Errorf("$top = %v, $skip = %v", tops, skips)
	}
	if page.NextCursor != `{"skip":250}` {
		t.Errorf("NextCursor = %s", page.NextCursor)
	}
}

func TestXDRListAlertsOnlyWhenAsked(t *testing.T) {
	base, _ := xdrListServer(t, 3, func(int) string { return "High" })
	for _, with := range []bool{false, true} {
		page, err := newTestXDR(t, base).ListIncidents(context.Background(), defender.ListQuery{PageSize: 5, WithAlerts: with})
		if err != nil {
			t.Fatal(err)
		}
		for _, inc := range page.Incidents {
			if (len(inc.Alerts) == 1) != with {
				t.Errorf("WithAlerts=%v: incident %s has %d alerts", with, inc.ID, len(inc.Alerts))
			}
		}
	}
}

func TestXDRListScanBudget(t *testing.T) {
	const n = 3000
	base, rec := xdrListServer(t, n, func(i int) string {
		if i == 2900 {
			return "High"
		}
		return "Low"
	})
	x := newTestXDR(t, base)
	q := defender.ListQuery{PageSize: 10, Filter: defender.IncidentFilter{Severities: []defender.Severity{defender.SeverityHigh}}}
	page, err := x.ListIncidents(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Incidents) != 0 || page.NextCursor != `{"skip":2500}` || rec.Count() != upstream.MaxUpstreamPagesPerList {
		t.Fatalf("first page: %d incidents, cursor %q, %d requests", len(page.Incidents), page.NextCursor, rec.Count())
	}
	q.Cursor = page.NextCursor
	page, err = x.ListIncidents(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Incidents) != 1 || page.Incidents[0].ID != strconv.Itoa(n-2900) || page.NextCursor != "" {
		t.Fatalf("second page: %+v, cursor %q", page.Incidents, page.NextCursor)
	}
}

func TestXDRListNextLink(t *testing.T) {
	foreign, foreignRec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		defendertest.WriteJSON(w, 200, map[string]any{"value": []any{}})
	})
	tests := []struct {
		name    string
		link    func(host string) string
		wantLog bool
	}{
		{"foreign host ignored", func(string) string { return foreign.URL + "/api/incidents?$skip=1&token=" + defendertest.Token }, true},
		{"traversal ignored", func(h string) string { return "http://" + h + "/api/..;/admin?$skip=1" }, true},
		{"safe link means more follows", func(h string) string { return "http://" + h + "/api/incidents?$skip=1" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, r *http.Request, rr defendertest.RecordedRequest) {
				body := map[string]any{"value": []any{map[string]any{"incidentId": 9}}}
				if url.Values(rr.Query).Get("$skip") == "" {
					body["value"] = []any{map[string]any{"incidentId": 10}}
					body["@odata.nextLink"] = tt.link(r.Host)
				}
				defendertest.WriteJSON(w, 200, body)
			})
			var logs bytes.Buffer
			x, err := New(defender.ClientOptions{BaseURL: srv.URL, HTTPClient: &http.Client{}, Tokens: defendertest.Tokens,
				Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				t.Fatal(err)
			}
			page, err := x.ListIncidents(context.Background(), defender.ListQuery{PageSize: 5})
			if err != nil {
				t.Fatal(err)
			}
			// The link is never followed. A short page with a next link is not
			// the end: the second page is fetched by $skip.
			if len(page.Incidents) != 2 || rec.Count() != 2 || url.Values(rec.All()[1].Query).Get("$skip") != "1" {
				t.Errorf("incidents %d, requests %v", len(page.Incidents), rec.All())
			}
			if foreignRec.Count() != 0 {
				t.Errorf("%d requests sent to the foreign host", foreignRec.Count())
			}
			logged := logs.String()
			if got := strings.Contains(logged, "outside the API base"); got != tt.wantLog {
				t.Errorf("warning logged = %v, want %v: %s", got, tt.wantLog, logged)
			}
			if strings.Contains(logged, defendertest.Token) || strings.Contains(logged, "$skip=1") || strings.Contains(logged, "admin") {
				t.Errorf("the log shows more of the link than its origin: %s", logged)
			}
		})
	}
}

func TestXDRListCursorValidation(t *testing.T) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		defendertest.WriteJSON(w, 200, map[string]any{"value": []any{}})
	})
	for _, c := range []string{"garbage", `{"skip":-1}`, `{"skip":"5"}`, `{"skip":5,"seen":1}`,
		upstream.EncodeCursor(upstream.GraphCursor{URL: srv.URL + "/api/incidents"}), `{"skip":99999999999}`} {
		t.Run(c, func(t *testing.T) {
			_, err := newTestXDR(t, srv.URL).ListIncidents(context.Background(), defender.ListQuery{PageSize: 5, Cursor: c})
			defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonInvalidArgument)
		})
	}
	if rec.Count() != 0 {
		t.Errorf("%d requests sent for invalid cursors", rec.Count())
	}
	if _, err := newTestXDR(t, srv.URL).ListIncidents(context.Background(), defender.ListQuery{PageSize: 5, Cursor: `{"skip":40}`}); err != nil {
		t.Fatal(err)
	}
	if got := url.Values(rec.All()[0].Query).Get("$skip"); got != "40" {
		t.Errorf("$skip = %q, want 40", got)
	}
}
