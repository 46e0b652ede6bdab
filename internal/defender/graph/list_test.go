package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

// graphListServer serves n incidents, ids n..1 (newest first), under
// /v1.0/security/incidents with $top/$skip paging and absolute next links.
// Like Graph it rejects $top > 50. With fixedPage > 0 it ignores $top and
// sends pages of that size.
func graphListServer(t *testing.T, n, fixedPage int) (string, *defendertest.Recorder) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, r *http.Request, rr defendertest.RecordedRequest) {
		if r.URL.Path != "/v1.0/security/incidents" {
			defendertest.WriteJSON(w, 404, map[string]any{"error": map[string]any{"code": "NotFound"}})
			return
		}
		q := r.URL.Query()
		top, _ := strconv.Atoi(q.Get("$top"))
		skip, _ := strconv.Atoi(q.Get("$skip"))
		if top < 1 || top > 50 {
			defendertest.WriteJSON(w, 400, map[string]any{"error": map[string]any{"code": "BadRequest", "message": "The limit of '50' for Top query has been exceeded."}})
			return
		}
		size := top
		if fixedPage > 0 {
			size = fixedPage
		}
		var value []map[string]any
		for i := skip; i < min(skip+size, n); i++ {
			inc := map[string]any{"id": strconv.Itoa(n - i), "status": "active", "severity": "high"}
			if q.Get("$expand") == "alerts" {
				inc["alerts"] = []any{map[string]any{"id": "a" + strconv.Itoa(n-i)}}
			}
			value = append(value, inc)
		}
		body := map[string]any{"value": value}
		if skip+size < n {
			q.Set("$skip", strconv.Itoa(skip+size))
			body["@odata.nextLink"] = "http://" + r.Host + r.URL.Path + "?" + q.Encode()
		}
		defendertest.WriteJSON(w, 200, body)
	})
	return srv.URL, rec
}

func wantIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(n - i)
	}
	return ids
}

func TestGraphListPagingReturnsEveryIncidentOnce(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		fixedPage int
		sizes     []int
	}{
		{"empty", 0, 0, []int{10}},
		{"one short page", 7, 0, []int{10}},
		{"exact pages", 120, 0, []int{40}},
		{"small pages", 120, 0, []int{7}},
		{"chained upstream pages", 120, 0, []int{500}},
		{"page size changes: overshoot", 120, 0, []int{10, 3, 3, 25, 500}},
		{"upstream ignores $top, small pages", 130, 4, []int{10}},
		{"upstream ignores $top, big pages", 101, 50, []int{7, 60, 1}},
		{"page size equals total", 50, 0, []int{50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, _ := graphListServer(t, tt.n, tt.fixedPage)
			got := defendertest.Drain(t, newTestGraph(t, base+"/v1.0"), defender.ListQuery{}, tt.sizes)
			if want := wantIDs(tt.n); !slices.Equal(got, want) {
				t.Fatalf("ids =\n %v\nwant\n %v", got, want)
			}
		})
	}
}

func TestGraphListFirstRequest(t *testing.T) {
	tests := []struct {
		name       string
		q          defender.ListQuery
		wantTop    string
		wantExpand string
		wantFilter string
	}{
		{"small page", defender.ListQuery{PageSize: 10}, "10", "", ""},
		{"big page capped at 50", defender.ListQuery{PageSize: 500}, "50", "", ""},
		{"with alerts and filter", defender.ListQuery{PageSize: 3, WithAlerts: true, Filter: defender.IncidentFilter{AssignedTo: "o'brien@contoso.com"}},
			"3", "alerts", "assignedTo eq 'o''brien@contoso.com'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, rec := graphListServer(t, 3, 0)
			page, err := newTestGraph(t, base+"/v1.0").ListIncidents(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			r := rec.All()[0]
			if got := r.Query["$top"]; len(got) != 1 || got[0] != tt.wantTop {
				t.Errorf("$top = %v, want %s", got, tt.wantTop)
			}
			if got := url.Values(r.Query).Get("$expand"); got != tt.wantExpand {
				t.Errorf("$expand = %q, want %q", got, tt.wantExpand)
			}
			if got := url.Values(r.Query).Get("$filter"); got != tt.wantFilter {
				t.Errorf("$filter = %q, want %q", got, tt.wantFilter)
			}
			for _, inc := range page.Incidents {
				if tt.q.WithAlerts != (len(inc.Alerts) > 0) {
					t.Errorf("incident %s has %d alerts, WithAlerts=%v", inc.ID, len(inc.Alerts), tt.q.WithAlerts)
				}
			}
		})
	}
}

func TestGraphListRefusesUnsafeNextLink(t *testing.T) {
	foreign, foreignRec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		defendertest.WriteJSON(w, 200, map[string]any{"value": []any{}})
	})
	tests := []struct {
		name string
		link func(host string) string
	}{
		{"foreign host, same path", func(string) string { return foreign.URL + "/v1.0/security/incidents?$skip=1" }},
		{"other path prefix", func(h string) string { return "http://" + h + "/beta/security/incidents?$skip=1" }},
		{"dot segments", func(h string) string { return "http://" + h + "/v1.0/../beta/security/incidents" }},
		{"other scheme", func(h string) string { return "https://" + h + "/v1.0/security/incidents?$skip=1" }},
		{"user info", func(h string) string { return "http://u:p@" + h + "/v1.0/security/incidents" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, r *http.Request, _ defendertest.RecordedRequest) {
				defendertest.WriteJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "1"}}, "@odata.nextLink": tt.link(r.Host)})
			})
			before := foreignRec.Count()
			_, err := newTestGraph(t, srv.URL+"/v1.0").ListIncidents(context.Background(), defender.ListQuery{PageSize: 5})
			defendertest.MustError(t, err, defender.KindInternal, defender.ReasonUnsafeNextLink)
			if rec.Count() != 1 {
				t.Errorf("base server got %d requests, want 1", rec.Count())
			}
			if foreignRec.Count() != before {
				t.Errorf("the foreign server received a request")
			}
		})
	}
}

func TestGraphListCursorValidation(t *testing.T) {
	foreign, foreignRec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		defendertest.WriteJSON(w, 200, map[string]any{"value": []any{}})
	})
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		defendertest.WriteJSON(w, 200, map[string]any{"value": []any{}})
	})
	cursor := func(u string, skip int) string {
		return upstream.EncodeCursor(upstream.GraphCursor{URL: u, Skip: skip})
	}
	tests := []struct {
		name   string
		cursor string
		reason string
	}{
		{"foreign host", cursor(foreign.URL+"/v1.0/security/incidents", 0), defender.ReasonUnsafeNextLink},
		{"other path prefix", cursor(srv.URL+"/beta/security/incidents", 0), defender.ReasonUnsafeNextLink},
		{"relative URL", cursor("/v1.0/security/incidents", 0), defender.ReasonUnsafeNextLink},
		{"dot segments", cursor(srv.URL+"/v1.0/%2e%2e/beta", 0), defender.ReasonUnsafeNextLink},
		{"not JSON", "garbage", defender.ReasonInvalidArgument},
		{"unknown key", `{"url":"` + srv.URL + `/v1.0/security/incidents","x":1}`, defender.ReasonInvalidArgument},
		{"trailing data", cursor(srv.URL+"/v1.0/security/incidents", 0) + "{}", defender.ReasonInvalidArgument},
		{"negative skip", cursor(srv.URL+"/v1.0/security/incidents", -1), defender.ReasonInvalidArgument},
		{"no url", `{"skip":3}`, defender.ReasonInvalidArgument},
		{"an XDR cursor", upstream.EncodeCursor(upstream.XDRCursor{Skip: 100}), defender.ReasonInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newTestGraph(t, srv.URL+"/v1.0").ListIncidents(context.Background(), defender.ListQuery{PageSize: 5, Cursor: tt.cursor})
			defendertest.MustError(t, err, defender.KindInvalidArgument, tt.reason)
			if rec.Count() != 0 || foreignRec.Count() != 0 {
				t.Errorf("requests were sent: base %d, foreign %d", rec.Count(), foreignRec.Count())
			}
		})
	}
	// The valid cursor is followed.
	_, err := newTestGraph(t, srv.URL+"/v1.0").ListIncidents(context.Background(),
		defender.ListQuery{PageSize: 5, Cursor: cursor(srv.URL+"/v1.0/security/incidents?$skip=5", 2)})
	if err != nil || rec.Count() != 1 || rec.All()[0].RawQuery != "$skip=5" {
		t.Fatalf("valid cursor: err=%v, requests=%v", err, rec.All())
	}
}

func TestGraphListPageSizeValidation(t *testing.T) {
	for _, n := range []int{0, -1, 501} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			_, err := newTestGraph(t, "https://graph.example/v1.0").ListIncidents(context.Background(), defender.ListQuery{PageSize: n})
			defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonInvalidArgument)
		})
	}
}
