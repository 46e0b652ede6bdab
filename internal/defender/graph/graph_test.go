package graph

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

func TestGraphGetIncident(t *testing.T) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		defendertest.WriteJSON(w, 200, map[string]any{"id": "42", "status": "Active", "severity": "unknownFutureValue",
			"alerts": []any{map[string]any{"id": "a1"}}})
	})
	g := newTestGraph(t, srv.URL+"/v1.0")
	tests := []struct {
		withAlerts bool
		wantQuery  string
		wantAlerts int
	}{
		{false, "", 0},
		{true, "$expand=alerts", 1},
	}
	for _, tt := range tests {
		inc, err := g.GetIncident(context.Background(), "42", tt.withAlerts)
		if err != nil {
			t.Fatal(err)
		}
		r := rec.All()[len(rec.All())-1]
		if r.Method != http.MethodGet || r.Path != "/v1.0/security/incidents/42" || r.RawQuery != tt.wantQuery {
			t.Errorf("request = %s %s?%s", r.Method, r.Path, r.RawQuery)
		}
		if inc.ID != "42" || inc.Status != defender.StatusActive || inc.Severity != defender.SeverityUnknown || inc.SeverityRaw != "unknownFutureValue" {
			t.Errorf("incident = %+v", inc)
		}
		if len(inc.Alerts) != tt.wantAlerts {
			t.Errorf("withAlerts=%v: %d alerts", tt.withAlerts, len(inc.Alerts))
		}
	}
}

func TestGraphUpdateIncident(t *testing.T) {
	resolved, tp, malware := defender.StatusResolved, defender.ClassificationTruePositive, defender.DeterminationCompromisedAccount
	nobody := ""
	noTags := []string(nil)
	tests := []struct {
		name      string
		update    defender.IncidentUpdate
		wantCalls []string // method path body
	}{
		{"all fields and comment", defender.IncidentUpdate{Status: &resolved, AssignedTo: &nobody, Classification: &tp,
			Determination: &malware, Tags: &[]string{"a", "b"}, Comment: "pen test"},
			[]string{
				`PATCH /v1.0/security/incidents/7 {"status":"resolved","assignedTo":"","classification":"truePositive","determination":"compromisedAccount","customTags":["a","b"]}`,
				`POST /v1.0/security/incidents/7/comments {"@odata.type":"microsoft.graph.security.alertComment","comment":"pen test"}`,
				`GET /v1.0/security/incidents/7 `,
			}},
		{"comment only", defender.IncidentUpdate{Comment: "note"},
			[]string{
				`POST /v1.0/security/incidents/7/comments {"@odata.type":"microsoft.graph.security.alertComment","comment":"note"}`,
				`GET /v1.0/security/incidents/7 `,
			}},
		{"clear tags", defender.IncidentUpdate{Tags: &noTags},
			[]string{`PATCH /v1.0/security/incidents/7 {"customTags":[]}`, `GET /v1.0/security/incidents/7 `}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
				defendertest.WriteJSON(w, 200, map[string]any{"id": "7", "status": "resolved", "alerts": []any{map[string]any{"id": "a"}}})
			})
			inc, err := newTestGraph(t, srv.URL+"/v1.0").UpdateIncident(context.Background(), "7", tt.update)
			if err != nil {
				t.Fatal(err)
			}
			var calls []string
			for _, r := range rec.All() {
				calls = append(calls, r.Method+" "+r.Path+" "+defendertest.CompactJSON(t, r.Body))
				if r.Method != http.MethodGet && r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s Content-Type = %q", r.Method, r.Header.Get("Content-Type"))
				}
				if r.Method == http.MethodGet && r.RawQuery != "$expand=alerts" {
					t.Errorf("read-back query = %q, want $expand=alerts", r.RawQuery)
				}
			}
			if !reflect.DeepEqual(calls, tt.wantCalls) {
				t.Errorf("calls =\n %q\nwant\n %q", calls, tt.wantCalls)
			}
			if inc.Status != defender.StatusResolved || len(inc.Alerts) != 1 {
				t.Errorf("incident = %+v", inc)
			}
		})
	}
}

func TestGraphRunHuntingQuery(t *testing.T) {
	tests := []struct {
		name     string
		q        defender.HuntingQuery
		wantBody string
		response string
	}{
		{"lower-case keys", defender.HuntingQuery{Query: "DeviceEvents | take 1", Timespan: "P7D"},
			`{"Query":"DeviceEvents | take 1","Timespan":"P7D"}`,
			`{"@odata.context":"x","schema":[{"name":"T","type":"DateTime"},{"name":"N","type":"Int64"}],"results":[{"T":"2024-01-02T03:04:05.1234567","N":3}]}`},
		{"PascalCase keys, no timespan", defender.HuntingQuery{Query: "Ünïcode"},
			`{"Query":"Ünïcode"}`,
			`{"Schema":[{"Name":"T","Type":"DateTime"},{"Name":"N","Type":"Int64"}],"Results":[{"T":"2024-01-02T03:04:05.1234567Z","N":"3"}],"Stats":{"x":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
				w.WriteHeader(200)
				_, _ = w.Write([]byte(tt.response))
			})
			res, err := newTestGraph(t, srv.URL+"/v1.0").RunHuntingQuery(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			r := rec.All()[0]
			if r.Method != http.MethodPost || r.Path != "/v1.0/security/runHuntingQuery" || defendertest.CompactJSON(t, r.Body) != tt.wantBody {
				t.Errorf("request = %s %s %s", r.Method, r.Path, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			want := &defender.HuntingResult{
				Columns: []defender.HuntingColumn{{Name: "T", Type: "DateTime"}, {Name: "N", Type: "Int64"}},
				Rows:    []map[string]any{{"T": "2024-01-02T03:04:05.1234567Z", "N": float64(3)}},
			}
			if !reflect.DeepEqual(res, want) {
				t.Errorf("result = %+v, want %+v", res, want)
			}
		})
	}
}
