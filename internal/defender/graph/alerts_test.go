package graph

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

// graphAlertServer serves n alerts, ids a{n}..a1, under
// /v1.0/security/alerts_v2 with $top/$skip paging (at most 50, like the
// emulator) and absolute next links; GET and PATCH of one alert, and its
// comments POST.
func graphAlertServer(t *testing.T, n int) (string, *defendertest.Recorder) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, r *http.Request, rr defendertest.RecordedRequest) {
		const list = "/v1.0/security/alerts_v2"
		switch {
		case r.URL.Path == list:
			q := r.URL.Query()
			top, _ := strconv.Atoi(q.Get("$top"))
			skip, _ := strconv.Atoi(q.Get("$skip"))
			if top < 1 || top > 50 {
				defendertest.WriteJSON(w, 400, map[string]any{"error": map[string]any{"code": "BadRequest", "message": "The limit of '50' for Top query has been exceeded."}})
				return
			}
			var value []map[string]any
			for i := skip; i < min(skip+top, n); i++ {
				value = append(value, map[string]any{"id": "a" + strconv.Itoa(n-i), "incidentId": "7", "status": "new"})
			}
			body := map[string]any{"value": value}
			if skip+top < n {
				q.Set("$skip", strconv.Itoa(skip+top))
				body["@odata.nextLink"] = "http://" + r.Host + r.URL.Path + "?" + q.Encode()
			}
			defendertest.WriteJSON(w, 200, body)
		case r.URL.Path == list+"/da1" && r.Method == http.MethodGet:
			defendertest.WriteJSON(w, 200, map[string]any{
				"id": "da1", "incidentId": "7", "status": "inProgress", "severity": "high",
				"classification": "truePositive", "determination": "somethingNew",
				"serviceSource": "microsoftDefenderForEndpoint", "detectionSource": "antivirus",
				"detectorId": "det-1", "providerAlertId": "da1", "recommendedActions": "Isolate.",
				"incidentWebUrl": "https://security.microsoft.com/incidents/7", "mitreTechniques": []string{"T1566"},
				"createdDateTime": "2025-03-01T12:00:00Z", "resolvedDateTime": nil,
				"comments":   []any{map[string]any{"comment": "seen", "createdByDisplayName": "Ann", "createdDateTime": "2025-03-01T13:00:00Z"}},
				"systemTags": []string{"Defender Experts"},
				"evidence":   []any{map[string]any{"@odata.type": "#microsoft.graph.security.fileEvidence", "verdict": "malicious"}},
			})
		case r.URL.Path == list+"/da1" && r.Method == http.MethodPatch,
			r.URL.Path == list+"/da1/comments" && r.Method == http.MethodPost:
			defendertest.WriteJSON(w, 200, map[string]any{"value": []any{}})
		default:
			defendertest.WriteJSON(w, 404, map[string]any{"error": map[string]any{"code": "NotFound", "message": "Alert was not found"}})
		}
	})
	return srv.URL, rec
}

func TestGraphListAlertsPagesThroughEveryAlertOnce(t *testing.T) {
	for _, sizes := range [][]int{{10}, {7, 50, 3}, {500}} {
		t.Run("", func(t *testing.T) {
			base, _ := graphAlertServer(t, 120)
			g := newTestGraph(t, base+"/v1.0")
			var got []string
			q := defender.AlertListQuery{}
			for call := 0; call < 100; call++ {
				q.PageSize = sizes[call%len(sizes)]
				page, err := g.ListAlerts(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range page.Alerts {
					got = append(got, a.ID)
				}
				if page.NextCursor == "" {
					break
				}
				if len(page.Alerts) != q.PageSize {
					t.Fatalf("page %d holds %d alerts, want %d", call, len(page.Alerts), q.PageSize)
				}
				q.Cursor = page.NextCursor
			}
			var want []string
			for i := 120; i >= 1; i-- {
				want = append(want, "a"+strconv.Itoa(i))
			}
			if !slices.Equal(got, want) {
				t.Errorf("ids = %v, want %v", got, want)
			}
		})
	}
}

func TestGraphAlertFilter(t *testing.T) {
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		f          defender.AlertFilter
		want       string
		wantReason string
	}{
		{"none", defender.AlertFilter{}, "", ""},
		{"every field", defender.AlertFilter{
			Statuses:         []defender.AlertStatus{defender.AlertStatusNew, defender.AlertStatusInProgress},
			Severities:       []defender.Severity{defender.SeverityHigh},
			ServiceSources:   []string{"microsoftDefenderForEndpoint"},
			DetectionSources: []string{"antivirus", "edr"},
			AssignedTo:       "o'brien@contoso.com",
			IncidentID:       "1042",
			CreatedFrom:      from, UpdatedBefore: from.Add(time.Hour),
		}, "(status eq 'new' or status eq 'inProgress') and severity eq 'high' and serviceSource eq 'microsoftDefenderForEndpoint' and " +
			"(detectionSource eq 'antivirus' or detectionSource eq 'edr') and assignedTo eq 'o''brien@contoso.com' and incidentId eq '1042' and " +
			"createdDateTime ge 2024-01-01T00:00:00Z and lastUpdateDateTime lt 2024-01-01T01:00:00Z", ""},
		{"XDR-only status", defender.AlertFilter{Statuses: []defender.AlertStatus{defender.AlertStatusActive}}, "", defender.ReasonUnsupportedByBackend},
		{"unknown status", defender.AlertFilter{Statuses: []defender.AlertStatus{defender.AlertStatusUnknown}}, "", defender.ReasonInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := graphAlertFilter(tt.f)
			if tt.wantReason != "" {
				defendertest.MustError(t, err, defender.KindInvalidArgument, tt.wantReason)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("filter =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestGraphListAlertsFirstRequest(t *testing.T) {
	base, rec := graphAlertServer(t, 3)
	_, err := newTestGraph(t, base+"/v1.0").ListAlerts(context.Background(), defender.AlertListQuery{PageSize: 500,
		Filter: defender.AlertFilter{IncidentID: "7"}})
	if err != nil {
		t.Fatal(err)
	}
	r := rec.All()[0]
	q := url.Values(r.Query)
	if q.Get("$top") != "50" || q.Get("$filter") != "incidentId eq '7'" || q.Has("$expand") || r.Path != "/v1.0/security/alerts_v2" {
		t.Errorf("request %s ?%s, want $top=50 and the incident filter on alerts_v2", r.Path, r.RawQuery)
	}
}

func TestGraphGetAlertMapsTheAlertsV2Fields(t *testing.T) {
	base, _ := graphAlertServer(t, 0)
	got, err := newTestGraph(t, base+"/v1.0").GetAlert(context.Background(), "da1")
	if err != nil {
		t.Fatal(err)
	}
	want := &defender.Alert{
		ID: "da1", IncidentID: "7", Status: defender.AlertStatusInProgress, StatusRaw: "inProgress",
		Severity: defender.SeverityHigh, SeverityRaw: "high",
		Classification: defender.ClassificationTruePositive, ClassificationRaw: "truePositive",
		Determination: defender.DeterminationUnknown, DeterminationRaw: "somethingNew",
		ServiceSource: "microsoftDefenderForEndpoint", DetectionSource: "antivirus",
		DetectorID: "det-1", ProviderAlertID: "da1", RecommendedActions: "Isolate.",
		IncidentWebURL: "https://security.microsoft.com/incidents/7", MitreTechniques: []string{"T1566"},
		CreateTime: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Comments:   []defender.Comment{{Text: "seen", Author: "Ann", CreateTime: time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)}},
		SystemTags: []string{"Defender Experts"},
	}
	if len(got.Evidence) != 1 || got.Evidence[0].Type != "file" || got.Evidence[0].Verdict != "malicious" {
		t.Errorf("evidence = %+v, want one malicious file", got.Evidence)
	}
	got.Evidence = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alert (-want +got):\n%s", diff)
	}
}

func TestGraphUpdateAlert(t *testing.T) {
	status, owner := defender.AlertStatusResolved, ""
	c, d := defender.ClassificationFalsePositive, defender.DeterminationClean
	tests := []struct {
		name string
		u    defender.AlertUpdate
		want []string // method path body
	}{
		{"fields and comment", defender.AlertUpdate{Status: &status, AssignedTo: &owner, Classification: &c, Determination: &d, Comment: "pen test"}, []string{
			`PATCH /v1.0/security/alerts_v2/da1 {"status":"resolved","assignedTo":"","classification":"falsePositive","determination":"notMalicious"}`,
			`POST /v1.0/security/alerts_v2/da1/comments {"@odata.type":"microsoft.graph.security.alertComment","comment":"pen test"}`,
			`GET /v1.0/security/alerts_v2/da1 `,
		}},
		{"comment only", defender.AlertUpdate{Comment: "x"}, []string{
			`POST /v1.0/security/alerts_v2/da1/comments {"@odata.type":"microsoft.graph.security.alertComment","comment":"x"}`,
			`GET /v1.0/security/alerts_v2/da1 `,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, rec := graphAlertServer(t, 0)
			a, err := newTestGraph(t, base+"/v1.0").UpdateAlert(context.Background(), "da1", tt.u)
			if err != nil {
				t.Fatal(err)
			}
			if a.ID != "da1" {
				t.Errorf("read back %q, want da1", a.ID)
			}
			var got []string
			for _, r := range rec.All() {
				got = append(got, r.Method+" "+r.Path+" "+r.Body)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGraphAlertErrors(t *testing.T) {
	base, rec := graphAlertServer(t, 0)
	g := newTestGraph(t, base+"/v1.0")
	_, err := g.GetAlert(context.Background(), "nope")
	defendertest.MustError(t, err, defender.KindNotFound, defender.ReasonAlertNotFound)
	for _, id := range []string{"", "../incidents/7", "a/b", "-x", "a?b"} {
		_, err := g.GetAlert(context.Background(), id)
		defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonInvalidArgument)
	}
	_, err = g.UpdateAlert(context.Background(), "da1", defender.AlertUpdate{})
	defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonInvalidArgument)
	active := defender.AlertStatusActive
	_, err = g.UpdateAlert(context.Background(), "da1", defender.AlertUpdate{Status: &active})
	defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonUnsupportedByBackend)
	if n := rec.Count(); n != 1 {
		t.Errorf("%d upstream requests, want 1 (only the not-found get)", n)
	}
}
