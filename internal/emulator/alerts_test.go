package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// callBody sends a JSON body with a bearer token and returns the status,
// headers and decoded body.
func callBody(t *testing.T, e *Emulator, method, rawURL, token, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var decoded map[string]any
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatalf("%s %s: status %d, body %q is not JSON", method, rawURL, resp.StatusCode, data)
	}
	return response{resp.StatusCode, resp.Header, decoded}
}

// firstAlert is a home-tenant sample alert with status new.
func firstAlert(t *testing.T, e *Emulator) store.Alert {
	t.Helper()
	for _, inc := range e.store.List(identity.HomeTenantID) {
		for _, a := range inc.Alerts {
			if a.Status == store.AlertStatusNew {
				return a
			}
		}
	}
	t.Fatal("no sample alert")
	return store.Alert{}
}

// startRealWith starts an emulator with the real Graph and XDR APIs and
// opts, closed at cleanup.
func startRealWith(t *testing.T, opts Options) *Emulator {
	t.Helper()
	e, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

func TestAlertRoutesServedWithSandboxTokens(t *testing.T) {
	e := startReal(t)
	full := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	readOnly := "Bearer " + fetchToken(t, e, identity.ReadOnlyClientID, identity.ReadOnlyClientSecret, identity.GraphResource)
	a := firstAlert(t, e)
	alertURL := e.GraphURL() + "/security/alerts_v2/" + a.ID
	tests := []struct {
		name, method, url, token, body string
		want                           int
	}{
		{"list", http.MethodGet, e.GraphURL() + "/security/alerts_v2?$top=3", full, "", 200},
		{"get", http.MethodGet, alertURL, full, "", 200},
		{"read-only app reads", http.MethodGet, alertURL, readOnly, "", 200},
		{"read-only app may not patch", http.MethodPatch, alertURL, readOnly, `{"status":"inProgress"}`, 403},
		{"read-only app may not comment", http.MethodPost, alertURL + "/comments", readOnly, `{"comment":"x"}`, 403},
		{"patch", http.MethodPatch, alertURL, full, `{"status":"inProgress"}`, 200},
		{"comment", http.MethodPost, alertURL + "/comments", full, `{"comment":"seen"}`, 200},
		{"bad token", http.MethodGet, alertURL, "Bearer not-a-token", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := callBody(t, e, tt.method, tt.url, tt.token, tt.body); got.status != tt.want {
				t.Errorf("status %d, want %d; body %v", got.status, tt.want, got.body)
			}
		})
	}
	got, err := e.Alert(identity.HomeTenantID, a.ID)
	if err != nil || got.Status != store.AlertStatusInProgress || len(got.Comments) == 0 || got.Comments[len(got.Comments)-1].Text != "seen" {
		t.Errorf("Alert() = %+v, %v: want the PATCH and the comment applied", got, err)
	}
	inc, _ := e.Incident(identity.HomeTenantID, a.IncidentID)
	if !inc.LastUpdateTime.Equal(got.LastUpdateTime) {
		t.Errorf("incident last update %v, alert's %v: want the same stamp", inc.LastUpdateTime, got.LastUpdateTime)
	}

	// A direct change, as the portal makes it, shows in the API.
	owner := "megan.bowen@contoso.com"
	if _, err := e.UpdateAlert(identity.HomeTenantID, a.ID, store.AlertPatch{AssignedTo: &owner}); err != nil {
		t.Fatal(err)
	}
	if got := callBody(t, e, http.MethodGet, alertURL, full, ""); got.body["assignedTo"] != owner {
		t.Errorf("after UpdateAlert: assignedTo %v", got.body["assignedTo"])
	}
	if _, err := e.UpdateAlert(identity.HomeTenantID, "nope", store.AlertPatch{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateAlert of an unknown alert: %v", err)
	}
}

func TestAlertRouteFaults(t *testing.T) {
	e := startReal(t)
	token := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	a := firstAlert(t, e)
	list := e.GraphURL() + "/security/alerts_v2"
	one := list + "/" + a.ID
	incidents := e.GraphURL() + "/security/incidents?$top=1"
	tests := []struct {
		name           string
		fault          Fault
		method, url    string
		body           string
		wantStatus     int
		wantCode       string
		wantRetryAfter string
	}{
		{"throttle the whole API", Throttle(APIGraph, identity.HomeTenantID, 3*time.Second), http.MethodGet, list, "", 429, "TooManyRequests", "3"},
		{"server error on alerts", ServerError(APIGraph, "", "/v1.0/security/alerts_v2", 503), http.MethodGet, one, "", 503, "ServiceUnavailable", ""},
		{"alerts fault spares incidents", ServerError(APIGraph, "", "/v1.0/security/alerts_v2", 500), http.MethodGet, incidents, "", 200, "", ""},
		{"incidents fault spares alerts", ServerError(APIGraph, "", "/v1.0/security/incidents", 500), http.MethodGet, list, "", 200, "", ""},
		{"write fault", Fault{API: APIGraph, Method: http.MethodPatch, PathPrefix: "/v1.0/security/alerts_v2", Status: 504}, http.MethodPatch, one, `{"status":"resolved"}`, 504, "GatewayTimeout", ""},
		{"other tenant's fault", Throttle(APIGraph, identity.SecondTenantID, 0), http.MethodGet, list, "", 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remove := e.InjectFault(tt.fault)
			defer remove()
			got := callBody(t, e, tt.method, tt.url, token, tt.body)
			if got.status != tt.wantStatus || errorCode(got.body) != tt.wantCode || got.header.Get("Retry-After") != tt.wantRetryAfter {
				t.Errorf("got %d %q Retry-After %q, want %d %q %q", got.status, errorCode(got.body), got.header.Get("Retry-After"),
					tt.wantStatus, tt.wantCode, tt.wantRetryAfter)
			}
		})
	}
	if got, _ := e.Alert(identity.HomeTenantID, a.ID); got.Status == store.AlertStatusResolved {
		t.Error("a faulted PATCH reached the store")
	}
	if s := e.RouteStat(APIGraph, identity.HomeTenantID, RouteAlertList); s.Faulted429 != 1 {
		t.Errorf("alert-read stats %+v, want the injected 429 counted", s)
	}

	// Apply-then-fail: the PATCH is applied, the answer lost.
	remove := e.InjectFault(ApplyThenFail(APIGraph, identity.HomeTenantID, http.MethodPatch, "/v1.0/security/alerts_v2", 504))
	defer remove()
	if got := callBody(t, e, http.MethodPatch, one, token, `{"status":"resolved"}`); got.status != 504 {
		t.Errorf("apply-then-fail: %d, want 504", got.status)
	}
	if got, _ := e.Alert(identity.HomeTenantID, a.ID); got.Status != store.AlertStatusResolved || got.ResolvedTime.IsZero() {
		t.Errorf("apply-then-fail: alert %s, want resolved", got.Status)
	}
}

func TestAlertRouteLimits(t *testing.T) {
	clock := newTestClock()
	e := startRealWith(t, Options{Now: clock.Now, Limits: &Limits{Graph: APILimits{
		Routes: map[string][]Window{
			RouteAlertList:  {{Count: 2, Per: 10 * time.Second}},
			RouteAlertWrite: {{Count: 1, Per: 10 * time.Second}},
		},
	}}})
	token := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	a := firstAlert(t, e)
	list := e.GraphURL() + "/security/alerts_v2?$top=1"
	one := e.GraphURL() + "/security/alerts_v2/" + a.ID
	for i := range 2 {
		if got := call(t, e, http.MethodGet, list, token).status; got != 200 {
			t.Fatalf("list %d: %d", i, got)
		}
	}
	clock.Advance(2 * time.Second)
	resp := call(t, e, http.MethodGet, list, token)
	if resp.status != 429 || errorCode(resp.body) != "TooManyRequests" || resp.header.Get("Retry-After") != "8" {
		t.Errorf("3rd list: %d %v Retry-After %q, want 429 with 8", resp.status, resp.body, resp.header.Get("Retry-After"))
	}
	if got := call(t, e, http.MethodGet, one, token).status; got != 200 {
		t.Errorf("get has no limit here: %d", got)
	}
	if got := callBody(t, e, http.MethodPatch, one, token, `{"status":"inProgress"}`).status; got != 200 {
		t.Errorf("1st write: %d", got)
	}
	if got := callBody(t, e, http.MethodPost, one+"/comments", token, `{"comment":"x"}`).status; got != 429 {
		t.Errorf("comment after a PATCH shares alert-write: %d, want 429", got)
	}
	tests := []struct {
		route             string
		accepted, refused int
	}{
		{RouteAlertList, 2, 1},
		{RouteAlertGet, 1, 0},
		{RouteAlertWrite, 1, 1},
		{RouteWholeAPI, 4, 0},
	}
	for _, tt := range tests {
		if s := e.RouteStat(APIGraph, identity.HomeTenantID, tt.route); s.Accepted != tt.accepted || s.Limited != tt.refused {
			t.Errorf("%s: %+v, want %d accepted, %d limited", tt.route, s, tt.accepted, tt.refused)
		}
	}
}

func TestAlertsWithoutNextLink(t *testing.T) {
	e := startReal(t)
	token := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	list := e.GraphURL() + "/security/alerts_v2?$top=5&$count=true"
	if got := call(t, e, http.MethodGet, list, token); got.body["@odata.nextLink"] == nil {
		t.Fatalf("without the fault: no nextLink in %v", got.body)
	}
	remove := e.InjectFault(AlertsWithoutNextLink(identity.HomeTenantID))
	defer remove()
	got := call(t, e, http.MethodGet, list, token)
	values, _ := got.body["value"].([]any)
	if got.status != 200 || got.body["@odata.nextLink"] != nil || len(values) != 5 || got.body["@odata.count"] == nil ||
		got.body["@odata.context"] == nil {
		t.Errorf("with the fault: %d, nextLink %v, %d values, count %v", got.status, got.body["@odata.nextLink"], len(values), got.body["@odata.count"])
	}
	a := firstAlert(t, e)
	tests := []struct {
		name, url, wantKey string
	}{
		{"one alert is served as is", e.GraphURL() + "/security/alerts_v2/" + a.ID, "id"},
		{"incidents keep their nextLink", e.GraphURL() + "/security/incidents?$top=1", "@odata.nextLink"},
	}
	for _, tt := range tests {
		if got := call(t, e, http.MethodGet, tt.url, token); got.status != 200 || got.body[tt.wantKey] == nil {
			t.Errorf("%s: %d, %s missing", tt.name, got.status, tt.wantKey)
		}
	}
	if other := call(t, e, http.MethodGet, list, tenantToken(t, e, identity.SecondTenantID, identity.GraphResource)); other.body["@odata.nextLink"] == nil {
		t.Error("the fault of the home tenant dropped the second tenant's nextLink")
	}
	if s := e.RouteStat(APIGraph, identity.HomeTenantID, RouteAlertList); s.Accepted != 2 {
		t.Errorf("alert-read accepted %d, want 2: a DropNextLink request is served for real", s.Accepted)
	}
	if fj := faultToJSON(AlertsWithoutNextLink("")); !fj.DropNextLink {
		t.Errorf("control API form %+v", fj)
	} else if back, err := fj.fault(); err != nil || back != AlertsWithoutNextLink("") {
		t.Errorf("control API round trip: %+v, %v", back, err)
	}
}
