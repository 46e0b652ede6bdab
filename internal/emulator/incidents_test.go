package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// startReal starts an emulator with the real Graph and XDR APIs.
func startReal(t *testing.T) *Emulator {
	t.Helper()
	e, err := Start(Options{})
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

// apiTokens are app tokens of the home tenant for both APIs.
type apiTokens struct{ graph, xdr string }

func homeTokens(t *testing.T, e *Emulator) apiTokens {
	t.Helper()
	return apiTokens{
		graph: tenantToken(t, e, identity.HomeTenantID, identity.GraphResource),
		xdr:   tenantToken(t, e, identity.HomeTenantID, identity.XDRResource),
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// graphListed lists Graph incidents with query (all pages) by id.
func graphListed(t *testing.T, e *Emulator, token string, query url.Values) map[int64]map[string]any {
	t.Helper()
	out := map[int64]map[string]any{}
	next := e.GraphURL() + "/security/incidents?" + query.Encode()
	for next != "" {
		status, body := send(t, e, http.MethodGet, next, token, "")
		if status != http.StatusOK {
			t.Fatalf("graph list %s: %d %v", next, status, body)
		}
		for _, v := range body["value"].([]any) {
			inc := v.(map[string]any)
			id, _ := strconv.ParseInt(inc["id"].(string), 10, 64)
			out[id] = inc
		}
		next, _ = body["@odata.nextLink"].(string)
	}
	return out
}

// xdrListed lists XDR incidents with query (all pages) by id.
func xdrListed(t *testing.T, e *Emulator, token string, query url.Values) map[int64]map[string]any {
	t.Helper()
	out := map[int64]map[string]any{}
	for skip := 0; ; skip += 100 {
		query.Set("$skip", strconv.Itoa(skip))
		status, body := send(t, e, http.MethodGet, e.XDRURL()+"/api/incidents?"+query.Encode(), token, "")
		if status != http.StatusOK {
			t.Fatalf("xdr list: %d %v", status, body)
		}
		page := body["value"].([]any)
		for _, v := range page {
			inc := v.(map[string]any)
			out[int64(inc["incidentId"].(float64))] = inc
		}
		if len(page) < 100 {
			return out
		}
	}
}

var xdrStatus = map[store.Status]string{
	store.StatusActive: "Active", store.StatusInProgress: "InProgress",
	store.StatusResolved: "Resolved", store.StatusRedirected: "Redirected",
}

// checkGraphIncident compares the fields a watch relies on.
func checkGraphIncident(t *testing.T, where string, got map[string]any, want store.Incident) {
	t.Helper()
	var redirect any
	if want.RedirectIncidentID != 0 {
		redirect = strconv.FormatInt(want.RedirectIncidentID, 10)
	}
	var assigned any
	if want.AssignedTo != "" {
		assigned = want.AssignedTo
	}
	alerts, _ := got["alerts"].([]any)
	if got["id"] != strconv.FormatInt(want.ID, 10) || got["status"] != string(want.Status) ||
		got["lastUpdateDateTime"] != stamp(want.LastUpdateTime) || got["createdDateTime"] != stamp(want.CreatedTime) ||
		got["redirectIncidentId"] != redirect || got["assignedTo"] != assigned || got["displayName"] != want.DisplayName ||
		len(alerts) != len(want.Alerts) {
		t.Errorf("%s: graph incident %v %v updated %v redirect %v assigned %v, %d alerts; want %d %s %s %v %v, %d alerts",
			where, got["id"], got["status"], got["lastUpdateDateTime"], got["redirectIncidentId"], got["assignedTo"], len(alerts),
			want.ID, want.Status, stamp(want.LastUpdateTime), redirect, assigned, len(want.Alerts))
	}
	for _, a := range alerts {
		if id := a.(map[string]any)["incidentId"]; id != strconv.FormatInt(want.ID, 10) {
			t.Errorf("%s: graph alert of incident %d has incidentId %v", where, want.ID, id)
		}
	}
}

func checkXDRIncident(t *testing.T, where string, got map[string]any, want store.Incident) {
	t.Helper()
	var redirect any
	if want.RedirectIncidentID != 0 {
		redirect = float64(want.RedirectIncidentID)
	}
	var assigned any
	if want.AssignedTo != "" {
		assigned = want.AssignedTo
	}
	alerts, _ := got["alerts"].([]any)
	if got["incidentId"] != float64(want.ID) || got["status"] != xdrStatus[want.Status] ||
		got["lastUpdateTime"] != stamp(want.LastUpdateTime) || got["createdTime"] != stamp(want.CreatedTime) ||
		got["redirectIncidentId"] != redirect || got["assignedTo"] != assigned || got["incidentName"] != want.DisplayName ||
		len(alerts) != len(want.Alerts) {
		t.Errorf("%s: xdr incident %v %v updated %v redirect %v assigned %v, %d alerts; want %d %s %s %v %v, %d alerts",
			where, got["incidentId"], got["status"], got["lastUpdateTime"], got["redirectIncidentId"], got["assignedTo"], len(alerts),
			want.ID, xdrStatus[want.Status], stamp(want.LastUpdateTime), redirect, assigned, len(want.Alerts))
	}
	for _, a := range alerts {
		if id := a.(map[string]any)["incidentId"]; id != float64(want.ID) {
			t.Errorf("%s: xdr alert of incident %d has incidentId %v", where, want.ID, id)
		}
	}
}

// checkSeenEverywhere asserts that the incidents in want are exactly what
// both lists return with a filter ge their last update, and what both gets
// return.
func checkSeenEverywhere(t *testing.T, e *Emulator, tok apiTokens, want []store.Incident) {
	t.Helper()
	since := stamp(want[0].LastUpdateTime)
	graph := graphListed(t, e, tok.graph, url.Values{"$filter": {"lastUpdateDateTime ge " + since}, "$expand": {"alerts"}})
	xdr := xdrListed(t, e, tok.xdr, url.Values{"$filter": {"lastUpdateTime ge " + since}})
	if len(graph) != len(want) || len(xdr) != len(want) {
		t.Errorf("filter ge %s: graph lists %d, xdr %d incidents; want %d", since, len(graph), len(xdr), len(want))
	}
	for _, inc := range want {
		checkGraphIncident(t, "graph list", graph[inc.ID], inc)
		checkXDRIncident(t, "xdr list", xdr[inc.ID], inc)
		status, body := send(t, e, http.MethodGet, fmt.Sprintf("%s/security/incidents/%d?$expand=alerts", e.GraphURL(), inc.ID), tok.graph, "")
		if status != http.StatusOK {
			t.Fatalf("graph get %d: %d %v", inc.ID, status, body)
		}
		checkGraphIncident(t, "graph get", body, inc)
		status, body = send(t, e, http.MethodGet, fmt.Sprintf("%s/api/incidents/%d", e.XDRURL(), inc.ID), tok.xdr, "")
		if status != http.StatusOK {
			t.Fatalf("xdr get %d: %d %v", inc.ID, status, body)
		}
		checkXDRIncident(t, "xdr get", body, inc)
	}
}

// openIncidents returns the home tenant's incidents that are not redirected.
func openIncidents(t *testing.T, e *Emulator) []store.Incident {
	t.Helper()
	var open []store.Incident
	for _, inc := range e.store.List(identity.HomeTenantID) {
		if inc.Status != store.StatusRedirected {
			open = append(open, inc)
		}
	}
	if len(open) < 10 {
		t.Fatalf("only %d open incidents", len(open))
	}
	return open
}

func TestDirectChanges(t *testing.T) {
	e := startReal(t)
	tok := homeTokens(t, e)
	open := openIncidents(t, e)
	home := identity.HomeTenantID
	resolved, owner := store.StatusResolved, "direct@contoso.com"

	tests := []struct {
		name   string
		change func(t *testing.T) []store.Incident // the changed incidents, as Get shows them
	}{
		{"update", func(t *testing.T) []store.Incident {
			inc, err := e.UpdateIncident(home, open[4].ID, store.Patch{Status: &resolved, AssignedTo: &owner, Author: owner})
			if err != nil || inc.Status != resolved || !inc.LastUpdateTime.After(open[4].LastUpdateTime) {
				t.Fatalf("UpdateIncident: %v, status %s, updated %v", err, inc.Status, inc.LastUpdateTime)
			}
			return []store.Incident{inc}
		}},
		{"comment", func(t *testing.T) []store.Incident {
			inc, err := e.UpdateIncident(home, open[4].ID, store.Patch{Comment: "seen in the portal", Author: owner})
			if err != nil {
				t.Fatal(err)
			}
			return []store.Incident{inc}
		}},
		{"create", func(t *testing.T) []store.Incident {
			inc, err := e.CreateIncident(home, store.NewIncident{Title: "Direct", Severity: store.SeverityHigh, AssignedTo: owner, Alerts: 2})
			if err != nil {
				t.Fatal(err)
			}
			if first := e.store.List(home)[0]; first.ID != inc.ID {
				t.Errorf("created %d, listed first %d", inc.ID, first.ID)
			}
			return []store.Incident{inc}
		}},
		{"redirect", func(t *testing.T) []store.Incident {
			src, err := e.RedirectIncident(home, open[6].ID, open[2].ID)
			if err != nil {
				t.Fatal(err)
			}
			target, err := e.Incident(home, open[2].ID)
			if err != nil || src.Status != store.StatusRedirected || src.RedirectIncidentID != target.ID ||
				len(target.Alerts) != len(open[2].Alerts)+len(open[6].Alerts) || !target.LastUpdateTime.Equal(src.LastUpdateTime) {
				t.Fatalf("redirect: %v; source %s → %d, target %d alerts", err, src.Status, src.RedirectIncidentID, len(target.Alerts))
			}
			return []store.Incident{src, target}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.Requests())
			changed := tt.change(t)
			if n := len(e.Requests()); n != before {
				t.Errorf("the direct change made %d requests", n-before)
			}
			checkSeenEverywhere(t, e, tok, changed)
		})
	}
}

func TestDirectChangeErrors(t *testing.T) {
	e := startReal(t)
	open := openIncidents(t, e)
	home := identity.HomeTenantID
	bad := store.Status("closed")
	tests := []struct {
		name string
		err  func() error
		want error
	}{
		{"update unknown id", func() error { _, err := e.UpdateIncident(home, 1, store.Patch{}); return err }, store.ErrNotFound},
		{"update bad status", func() error { _, err := e.UpdateIncident(home, open[0].ID, store.Patch{Status: &bad}); return err }, store.ErrInvalidPatch},
		{"create unknown tenant", func() error { _, err := e.CreateIncident("nobody", store.NewIncident{}); return err }, store.ErrNotFound},
		{"redirect unknown target", func() error { _, err := e.RedirectIncident(home, open[0].ID, 1); return err }, store.ErrNotFound},
		{"redirect to itself", func() error { _, err := e.RedirectIncident(home, open[0].ID, open[0].ID); return err }, store.ErrInvalidPatch},
		{"no store", func() error {
			_, err := startTest(t, Options{}).CreateIncident(home, store.NewIncident{})
			return err
		}, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.err(); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
