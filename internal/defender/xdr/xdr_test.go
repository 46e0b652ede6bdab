package xdr

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

func TestXDRUpdateIncident(t *testing.T) {
	inProgress, fp, insufficient := defender.StatusInProgress, defender.ClassificationFalsePositive, defender.DeterminationInsufficientData
	owner := "secop@contoso.com"
	update := defender.IncidentUpdate{Status: &inProgress, AssignedTo: &owner, Classification: &fp,
		Determination: &insufficient, Tags: &[]string{"t1"}, Comment: "checked"}
	const wantPatch = `{"status":"InProgress","assignedTo":"secop@contoso.com","classification":"FalsePositive","determination":"NoEnoughDataToValidate","tags":["t1"],"comment":"checked"}`
	tests := []struct {
		name      string
		patchResp string
		wantCalls []string
	}{
		{"PATCH answer with alerts is returned", `{"incidentId":7,"status":"InProgress","alerts":[{"alertId":"da1"}]}`,
			[]string{"PATCH /api/incidents/7"}},
		{"PATCH answer without alerts is read again", `{"incidentId":7,"status":"InProgress"}`,
			[]string{"PATCH /api/incidents/7", "GET /api/incidents/7"}},
		{"empty PATCH answer is read again", ``,
			[]string{"PATCH /api/incidents/7", "GET /api/incidents/7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, r *http.Request, _ defendertest.RecordedRequest) {
				if r.Method == http.MethodPatch {
					w.WriteHeader(200)
					_, _ = w.Write([]byte(tt.patchResp))
					return
				}
				defendertest.WriteJSON(w, 200, map[string]any{"incidentId": 7, "status": "InProgress", "alerts": []any{map[string]any{"alertId": "da1"}}})
			})
			inc, err := newTestXDR(t, srv.URL).UpdateIncident(context.Background(), "7", update)
			if err != nil {
				t.Fatal(err)
			}
			var calls []string
			for _, r := range rec.All() {
				calls = append(calls, r.Method+" "+r.Path)
			}
			if !reflect.DeepEqual(calls, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", calls, tt.wantCalls)
			}
			if got := defendertest.CompactJSON(t, rec.All()[0].Body); got != wantPatch {
				t.Errorf("PATCH body =\n %s\nwant\n %s", got, wantPatch)
			}
			if inc.ID != "7" || inc.Status != defender.StatusInProgress || len(inc.Alerts) != 1 || inc.Alerts[0].ID != "da1" {
				t.Errorf("incident = %+v", inc)
			}
		})
	}
}

func TestXDRRunHuntingQuery(t *testing.T) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"Stats":{"ExecutionTime":0.25,"resource_usage":{"cache":{}}},` +
			`"Schema":[{"Name":"Timestamp","Type":"DateTime"},{"Name":"DeviceName","Type":"String"},{"Name":"Flag","Type":"Boolean"}],` +
			`"Results":[{"Timestamp":"2024-01-02T03:04:05Z","DeviceName":"pc1","Flag":true}]}`))
	})
	x := newTestXDR(t, srv.URL)
	res, err := x.RunHuntingQuery(context.Background(), defender.HuntingQuery{Query: "DeviceInfo | take 1"})
	if err != nil {
		t.Fatal(err)
	}
	r := rec.All()[0]
	if r.Method != http.MethodPost || r.Path != "/api/advancedhunting/run" || defendertest.CompactJSON(t, r.Body) != `{"Query":"DeviceInfo | take 1"}` {
		t.Errorf("request = %s %s %s", r.Method, r.Path, r.Body)
	}
	want := &defender.HuntingResult{
		Columns: []defender.HuntingColumn{{Name: "Timestamp", Type: "DateTime"}, {Name: "DeviceName", Type: "String"}, {Name: "Flag", Type: "Boolean"}},
		Rows:    []map[string]any{{"Timestamp": "2024-01-02T03:04:05Z", "DeviceName": "pc1", "Flag": true}},
		Stats:   map[string]any{"ExecutionTime": 0.25, "resource_usage": map[string]any{"cache": map[string]any{}}},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v\nwant %+v", res, want)
	}

	_, err = x.RunHuntingQuery(context.Background(), defender.HuntingQuery{Query: "x", Timespan: "P1D"})
	e := defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonUnsupportedByBackend)
	if e.Message != "timespan is not supported by the XDR backend" {
		t.Errorf("Message = %q", e.Message)
	}
	if rec.Count() != 1 {
		t.Errorf("a timespan query reached the upstream")
	}
}
