package defender

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
)

var severityCycle = []string{"High", "Low", "Medium", "Informational", "UnSpecified", "High", "Low"}

// xdrListServer serves n incidents, ids n..1 (newest first), with numeric
// ids and alerts, paged by $top (at most 100, like XDR) and $skip. sev gives
// the severity of the incident at position i.
func xdrListServer(t *testing.T, n int, sev func(i int) string) (string, *recorder) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, _ recordedRequest) {
		q := r.URL.Query()
		top, _ := strconv.Atoi(q.Get("$top"))
		skip, _ := strconv.Atoi(q.Get("$skip"))
		if r.URL.Path != "/api/incidents" || top < 1 || top > 100 {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "BadRequest", "message": "bad paging"}})
			return
		}
		value := []map[string]any{}
		for i := skip; i < min(skip+top, n); i++ {
			value = append(value, map[string]any{
				"incidentId": n - i, "redirectIncidentId": nil, "severity": sev(i), "status": "Active",
				"alerts": []any{map[string]any{"alertId": "da" + strconv.Itoa(n-i), "incidentId": n - i}},
			})
		}
		writeJSON(w, 200, map[string]any{"@odata.context": "x", "value": value})
	})
	return srv.URL, rec
}

func TestXDRListSeverityFilterPaging(t *testing.T) {
	cycle := func(i int) string { return severityCycle[i%len(severityCycle)] }
	tests := []struct {
		name  string
		n     int
		sev   func(int) string
		want  []Severity
		sizes []int
	}{
		{"no filter, small pages", 230, cycle, nil, []int{7}},
		{"no filter, big pages", 230, cycle, nil, []int{500}},
		{"no filter, exact end", 200, cycle, nil, []int{100}},
		{"high, small pages", 230, cycle, []Severity{SeverityHigh}, []int{7}},
		{"high, changing sizes", 530, cycle, []Severity{SeverityHigh}, []int{1, 50, 13, 500}},
		{"low or medium", 230, cycle, []Severity{SeverityLow, SeverityMedium}, []int{30}},
		{"unspecified upstream is unknown", 230, cycle, []Severity{SeverityUnknown}, []int{9}},
		{"no match", 230, func(int) string { return "Low" }, []Severity{SeverityHigh}, []int{10}},
		{"empty", 0, cycle, []Severity{SeverityHigh}, []int{10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, rec := xdrListServer(t, tt.n, tt.sev)
			got := drain(t, newTestXDR(t, base), ListQuery{Filter: IncidentFilter{Severities: tt.want}}, tt.sizes)
			var want []string
			for i := range tt.n {
				if len(tt.want) == 0 || slices.Contains(tt.want, parseSeverity(tt.sev(i))) {
					want = append(want, strconv.Itoa(tt.n-i))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("ids =\n %v\nwant\n %v", got, want)
			}
			for _, r := range rec.all() {
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
	page, err := x.ListIncidents(context.Background(), ListQuery{PageSize: 250})
	if err != nil {
		t.Fatal(err)
	}
	var tops, skips []string
	for _, r := range rec.all() {
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
		page, err := newTestXDR(t, base).ListIncidents(context.Background(), ListQuery{PageSize: 5, WithAlerts: with})
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
	q := ListQuery{PageSize: 10, Filter: IncidentFilter{Severities: []Severity{SeverityHigh}}}
	page, err := x.ListIncidents(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Incidents) != 0 || page.NextCursor != `{"skip":2500}` || rec.count() != maxUpstreamPagesPerList {
		t.Fatalf("first page: %d incidents, cursor %q, %d requests", len(page.Incidents), page.NextCursor, rec.count())
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
	foreign, foreignRec := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
		writeJSON(w, 200, map[string]any{"value": []any{}})
	})
	tests := []struct {
		name    string
		link    func(host string) string
		wantLog bool
	}{
		{"foreign host ignored", func(string) string { return foreign.URL + "/api/incidents?$skip=1&token=" + testToken }, true},
		{"traversal ignored", func(h string) string { return "http://" + h + "/api/..;/admin?$skip=1" }, true},
		{"safe link means more follows", func(h string) string { return "http://" + h + "/api/incidents?$skip=1" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, rr recordedRequest) {
				body := map[string]any{"value": []any{map[string]any{"incidentId": 9}}}
				if url.Values(rr.Query).Get("$skip") == "" {
					body["value"] = []any{map[string]any{"incidentId": 10}}
					body["@odata.nextLink"] = tt.link(r.Host)
				}
				writeJSON(w, 200, body)
			})
			var logs bytes.Buffer
			x, err := NewXDR(ClientOptions{BaseURL: srv.URL, HTTPClient: &http.Client{}, Tokens: testTokens,
				Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				t.Fatal(err)
			}
			page, err := x.ListIncidents(context.Background(), ListQuery{PageSize: 5})
			if err != nil {
				t.Fatal(err)
			}
			// The link is never followed. A short page with a next link is not
			// the end: the second page is fetched by $skip.
			if len(page.Incidents) != 2 || rec.count() != 2 || url.Values(rec.all()[1].Query).Get("$skip") != "1" {
				t.Errorf("incidents %d, requests %v", len(page.Incidents), rec.all())
			}
			if foreignRec.count() != 0 {
				t.Errorf("%d requests sent to the foreign host", foreignRec.count())
			}
			logged := logs.String()
			if got := strings.Contains(logged, "outside the API base"); got != tt.wantLog {
				t.Errorf("warning logged = %v, want %v: %s", got, tt.wantLog, logged)
			}
			if strings.Contains(logged, testToken) || strings.Contains(logged, "$skip=1") || strings.Contains(logged, "admin") {
				t.Errorf("the log shows more of the link than its origin: %s", logged)
			}
		})
	}
}

func TestXDRListCursorValidation(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
		writeJSON(w, 200, map[string]any{"value": []any{}})
	})
	for _, c := range []string{"garbage", `{"skip":-1}`, `{"skip":"5"}`, `{"skip":5,"seen":1}`,
		encodeCursor(graphCursor{URL: srv.URL + "/api/incidents"}), `{"skip":99999999999}`} {
		t.Run(c, func(t *testing.T) {
			_, err := newTestXDR(t, srv.URL).ListIncidents(context.Background(), ListQuery{PageSize: 5, Cursor: c})
			mustError(t, err, KindInvalidArgument, ReasonInvalidArgument)
		})
	}
	if rec.count() != 0 {
		t.Errorf("%d requests sent for invalid cursors", rec.count())
	}
	if _, err := newTestXDR(t, srv.URL).ListIncidents(context.Background(), ListQuery{PageSize: 5, Cursor: `{"skip":40}`}); err != nil {
		t.Fatal(err)
	}
	if got := url.Values(rec.all()[0].Query).Get("$skip"); got != "40" {
		t.Errorf("$skip = %q, want 40", got)
	}
}
