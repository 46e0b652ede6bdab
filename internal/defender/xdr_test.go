package defender

import (
	"context"
	"net/http"
	"reflect"
	"testing"
)

func TestXDRUpdateIncident(t *testing.T) {
	inProgress, fp, insufficient := StatusInProgress, ClassificationFalsePositive, DeterminationInsufficientData
	owner := "secop@contoso.com"
	update := IncidentUpdate{Status: &inProgress, AssignedTo: &owner, Classification: &fp,
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
			srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, _ recordedRequest) {
				if r.Method == http.MethodPatch {
					w.WriteHeader(200)
					_, _ = w.Write([]byte(tt.patchResp))
					return
				}
				writeJSON(w, 200, map[string]any{"incidentId": 7, "status": "InProgress", "alerts": []any{map[string]any{"alertId": "da1"}}})
			})
			inc, err := newTestXDR(t, srv.URL).UpdateIncident(context.Background(), "7", update)
			if err != nil {
				t.Fatal(err)
			}
			var calls []string
			for _, r := range rec.all() {
				calls = append(calls, r.Method+" "+r.Path)
			}
			if !reflect.DeepEqual(calls, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", calls, tt.wantCalls)
			}
			if got := compactJSON(t, rec.all()[0].Body); got != wantPatch {
				t.Errorf("PATCH body =\n %s\nwant\n %s", got, wantPatch)
			}
			if inc.ID != "7" || inc.Status != StatusInProgress || len(inc.Alerts) != 1 || inc.Alerts[0].ID != "da1" {
				t.Errorf("incident = %+v", inc)
			}
		})
	}
}

func TestXDRRunHuntingQuery(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"Stats":{"ExecutionTime":0.25,"resource_usage":{"cache":{}}},` +
			`"Schema":[{"Name":"Timestamp","Type":"DateTime"},{"Name":"DeviceName","Type":"String"},{"Name":"Flag","Type":"Boolean"}],` +
			`"Results":[{"Timestamp":"2024-01-02T03:04:05Z","DeviceName":"pc1","Flag":true}]}`))
	})
	x := newTestXDR(t, srv.URL)
	res, err := x.RunHuntingQuery(context.Background(), HuntingQuery{Query: "DeviceInfo | take 1"})
	if err != nil {
		t.Fatal(err)
	}
	r := rec.all()[0]
	if r.Method != http.MethodPost || r.Path != "/api/advancedhunting/run" || compactJSON(t, r.Body) != `{"Query":"DeviceInfo | take 1"}` {
		t.Errorf("request = %s %s %s", r.Method, r.Path, r.Body)
	}
	want := &HuntingResult{
		Columns: []HuntingColumn{{"Timestamp", "DateTime"}, {"DeviceName", "String"}, {"Flag", "Boolean"}},
		Rows:    []map[string]any{{"Timestamp": "2024-01-02T03:04:05Z", "DeviceName": "pc1", "Flag": true}},
		Stats:   map[string]any{"ExecutionTime": 0.25, "resource_usage": map[string]any{"cache": map[string]any{}}},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v\nwant %+v", res, want)
	}

	_, err = x.RunHuntingQuery(context.Background(), HuntingQuery{Query: "x", Timespan: "P1D"})
	e := mustError(t, err, KindInvalidArgument, ReasonUnsupportedByBackend)
	if e.Message != "timespan is not supported by the XDR backend" {
		t.Errorf("Message = %q", e.Message)
	}
	if rec.count() != 1 {
		t.Errorf("a timespan query reached the upstream")
	}
}

func TestIncidentIDsArePositiveInt64s(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
		writeJSON(w, 404, map[string]any{})
	})
	for _, kind := range []BackendKind{BackendGraph, BackendXDR} {
		b := newTestBackend(t, kind, srv.URL)
		for _, id := range []string{"", "0", "007", "+7", "-7", "7a", "9223372036854775808", "123456789012345678901"} {
			_, err := b.GetIncident(context.Background(), id, false)
			mustError(t, err, KindInvalidArgument, ReasonInvalidArgument)
			s := StatusActive
			_, err = b.UpdateIncident(context.Background(), id, IncidentUpdate{Status: &s})
			mustError(t, err, KindInvalidArgument, ReasonInvalidArgument)
		}
	}
	if rec.count() != 0 {
		t.Errorf("%d requests sent for invalid ids", rec.count())
	}
}
