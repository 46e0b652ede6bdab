package graphapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// delegated is a user token of tenant with the given Graph scopes.
func delegated(upn, tenant string, scopes ...string) claims.Claims {
	return claims.Claims{TenantID: tenant, AppID: identity.ClientID, Audience: identity.GraphResource, Scopes: scopes, UPN: upn}
}

func alertPath(id string) string { return alertsPath + "/" + id }

// findAlert returns the first home-tenant alert keep accepts.
func (f *fixture) findAlert(keep func(store.Alert, store.Incident) bool) (store.Alert, store.Incident) {
	f.t.Helper()
	for _, inc := range f.store.List(identity.HomeTenantID) {
		for _, a := range inc.Alerts {
			if keep(a, inc) {
				return a, inc
			}
		}
	}
	f.t.Fatal("no sample alert fits")
	return store.Alert{}, store.Incident{}
}

func TestGetAlert(t *testing.T) {
	f := newFixture(t)
	a, inc := f.findAlert(func(a store.Alert, _ store.Incident) bool {
		return a.Status == store.AlertStatusResolved && len(a.Comments) > 0 && len(a.MitreTechniques) > 0 && a.ThreatFamilyName != ""
	})
	got := decode[alertDTO](t, f.call(http.MethodGet, alertPath(a.ID), "", &fullAccess), http.StatusOK)
	if got.ID != a.ID || got.IncidentID != strconv.FormatInt(inc.ID, 10) || got.TenantID != identity.HomeTenantID ||
		got.Status != "resolved" || got.ResolvedDateTime == nil || *got.ResolvedDateTime != formatTime(a.ResolvedTime) ||
		got.ServiceSource != string(a.ServiceSource) || got.DetectionSource != string(a.DetectionSource) ||
		got.DetectorID == "" || got.RecommendedActions == "" || got.IncidentWebURL != inc.WebURL ||
		!slices.Equal(got.MitreTechniques, a.MitreTechniques) || len(got.Comments) != len(a.Comments) ||
		got.Comments[0].Comment != a.Comments[0].Text || got.CreatedDateTime != formatTime(a.CreatedTime) ||
		got.FirstActivityDateTime != formatTime(a.FirstActivity) || got.LastActivityDateTime != formatTime(a.LastActivity) ||
		len(got.Evidence) != len(a.Evidence) || got.SystemTags == nil {
		t.Errorf("got %+v\nfor %+v", got, a)
	}
	open, _ := f.findAlert(func(a store.Alert, _ store.Incident) bool { return a.Status == store.AlertStatusNew })
	if got := decode[alertDTO](t, f.call(http.MethodGet, alertPath(open.ID), "", &fullAccess), http.StatusOK); got.ResolvedDateTime != nil {
		t.Errorf("open alert has resolvedDateTime %v", *got.ResolvedDateTime)
	}

	secondAlert := f.store.List(identity.SecondTenantID)[0].Alerts[0]
	tests := []struct {
		name, target string
		status       int
		code, msg    string
	}{
		{"unknown id", alertPath("da000000000000000000_-1"), http.StatusNotFound, "NotFound", "Alert da000000000000000000_-1 was not found"},
		{"other tenant's id", alertPath(secondAlert.ID), http.StatusNotFound, "NotFound", "Alert " + secondAlert.ID + " was not found"},
		{"query option", alertPath(a.ID) + "?$expand=evidence", http.StatusBadRequest, "BadRequest", "'$expand' is not supported. This request takes no query options."},
		{"unknown sub-resource", alertPath(a.ID) + "/evidence", http.StatusNotFound, "NotFound", "Resource not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, f.call(http.MethodGet, tt.target, "", &fullAccess), tt.status, tt.code, tt.msg)
		})
	}
}

func TestUpdateAlert(t *testing.T) {
	tests := []struct {
		name string
		body string
		want func(got alertDTO) bool
	}{
		{"status and owner", `{"status":"InProgress","assignedTo":"o'brien@contoso.com","@odata.type":"#microsoft.graph.security.alert"}`, func(g alertDTO) bool {
			return g.Status == "inProgress" && g.AssignedTo != nil && *g.AssignedTo == store.OBrienOwner && g.ResolvedDateTime == nil
		}},
		{"resolve sets resolvedDateTime", `{"status":"resolved"}`, func(g alertDTO) bool {
			return g.Status == "resolved" && g.ResolvedDateTime != nil && *g.ResolvedDateTime == g.LastUpdateDateTime
		}},
		{"unassign", `{"assignedTo":null}`, func(g alertDTO) bool { return g.AssignedTo == nil }},
		{"documented pair", `{"classification":"truePositive","determination":"multiStagedAttack"}`, func(g alertDTO) bool {
			return g.Classification == "truePositive" && g.Determination == "multiStagedAttack"
		}},
		{"false positive, PascalCase", `{"classification":"FalsePositive","determination":"NotEnoughDataToValidate"}`, func(g alertDTO) bool {
			return g.Classification == "falsePositive" && g.Determination == "notEnoughDataToValidate"
		}},
		{"classification alone", `{"classification":"informationalExpectedActivity"}`, func(g alertDTO) bool {
			return g.Classification == "informationalExpectedActivity"
		}},
		{"empty body changes nothing but the time", `{}`, func(g alertDTO) bool { return g.Status == "new" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a, inc := f.findAlert(func(a store.Alert, inc store.Incident) bool {
				return a.Status == store.AlertStatusNew && a.Classification == store.ClassificationUnknown
			})
			got := decode[alertDTO](t, f.call(http.MethodPatch, alertPath(a.ID), tt.body, &fullAccess), http.StatusOK)
			if !tt.want(got) || got.ID != a.ID {
				t.Errorf("PATCH %s: got %+v", tt.body, got)
			}
			stamp, err := time.Parse(time.RFC3339Nano, got.LastUpdateDateTime)
			if err != nil || !stamp.After(a.LastUpdateTime) {
				t.Errorf("lastUpdateDateTime %q not after %v", got.LastUpdateDateTime, a.LastUpdateTime)
			}
			// One source of truth: the incident shows the change and the stamp.
			after := decode[incidentDTO](t, f.call(http.MethodGet, path(inc.ID)+"?$expand=alerts", "", &fullAccess), http.StatusOK)
			if after.LastUpdateDateTime != got.LastUpdateDateTime {
				t.Errorf("incident lastUpdateDateTime %s, want the alert's %s", after.LastUpdateDateTime, got.LastUpdateDateTime)
			}
			seen := decode[alertDTO](t, f.call(http.MethodGet, alertPath(a.ID), "", &fullAccess), http.StatusOK)
			if !tt.want(seen) {
				t.Errorf("GET after PATCH: %+v", seen)
			}
			stored, _, _ := f.store.GetAlert(identity.HomeTenantID, a.ID)
			for _, ea := range after.Alerts {
				if ea.ID == a.ID && ea.IncidentID != strconv.FormatInt(inc.ID, 10) {
					t.Errorf("embedded alert %+v", ea)
				}
			}
			if stored.LastUpdateTime.IsZero() || formatTime(stored.LastUpdateTime) != got.LastUpdateDateTime {
				t.Errorf("store has %v, answer %s", stored.LastUpdateTime, got.LastUpdateDateTime)
			}
		})
	}
}

func TestUpdateAlertRejects(t *testing.T) {
	f := newFixture(t)
	a, _ := f.findAlert(func(a store.Alert, _ store.Incident) bool { return a.Classification == store.ClassificationUnknown })
	tp, _ := f.findAlert(func(a store.Alert, _ store.Incident) bool {
		return a.Classification == store.ClassificationTruePositive
	})
	tests := []struct {
		name, id, body string
		status         int
		msg            string
	}{
		{"unknown key", a.ID, `{"severity":"high"}`, 400, "Property 'severity' does not exist"},
		{"incident key customTags", a.ID, `{"customTags":["x"]}`, 400, "Property 'customTags' does not exist"},
		{"comment key", a.ID, `{"comment":"x"}`, 400, "Property 'comment' does not exist"},
		{"incident status", a.ID, `{"status":"active"}`, 400, `Invalid value for property 'status': "active" is not a valid alert status`},
		{"unknownFutureValue status", a.ID, `{"status":"unknownFutureValue"}`, 400, "Invalid value for property 'status'"},
		{"null status", a.ID, `{"status":null}`, 400, "cannot be null"},
		{"wrong type", a.ID, `{"assignedTo":7}`, 400, "must be a string"},
		{"bad classification", a.ID, `{"classification":"benign"}`, 400, "Invalid value for property 'classification'"},
		{"incident page spelling", a.ID, `{"classification":"falsePositive","determination":"clean"}`, 400, `"clean" is not a valid determination`},
		{"pair not documented", a.ID, `{"classification":"falsePositive","determination":"malware"}`, 400, `determination "malware" does not go with classification "falsePositive"`},
		{"determination against the current classification", tp.ID, `{"determination":"securityTesting"}`, 400, `does not go with classification "truePositive"`},
		{"determination with unknown classification", a.ID, `{"determination":"malware"}`, 400, `does not go with classification "unknown"`},
		{"deprecated determination", tp.ID, `{"determination":"apt"}`, 400, `determination "apt" does not go with`},
		{"not an object", a.ID, `["status"]`, 400, ""},
		{"two objects", a.ID, `{}{}`, 400, ""},
		{"unknown alert", "nope", `{"status":"resolved"}`, 404, "Alert nope was not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _, _ := f.store.GetAlert(identity.HomeTenantID, tt.id)
			code := "BadRequest"
			if tt.status == 404 {
				code = "NotFound"
			}
			expectError(t, f.call(http.MethodPatch, alertPath(tt.id), tt.body, &fullAccess), tt.status, code, tt.msg)
			after, _, _ := f.store.GetAlert(identity.HomeTenantID, tt.id)
			if !after.LastUpdateTime.Equal(before.LastUpdateTime) || after.Status != before.Status || after.Determination != before.Determination {
				t.Errorf("a rejected PATCH changed the alert: %+v -> %+v", before, after)
			}
		})
	}
}

func TestAlertComments(t *testing.T) {
	f := newFixture(t)
	a, inc := f.findAlert(func(a store.Alert, _ store.Incident) bool { return len(a.Comments) == 1 })
	type commentsPage struct {
		Context string        `json:"@odata.context"`
		Value   []commentJSON `json:"value"`
	}
	body := `{"@odata.type":"microsoft.graph.security.alertComment","comment":"Looked at it."}`
	got := decode[commentsPage](t, f.call(http.MethodPost, alertPath(a.ID)+"/comments", body, &fullAccess), http.StatusOK)
	if len(got.Value) != 2 || got.Value[0].Comment != a.Comments[0].Text || got.Value[1].Comment != "Looked at it." ||
		got.Value[1].CreatedByDisplayName != "API-App:"+identity.ClientID || got.Context != "https://graph.test:8443/v1.0/$metadata#Collection(microsoft.graph.security.alertComment)" {
		t.Errorf("comments answer %+v", got)
	}
	alice := delegated(identity.AliceUPN, identity.HomeTenantID, identity.GraphAlertReadWrite)
	b, _ := f.findAlert(func(a store.Alert, inc store.Incident) bool { return inc.ID%2 == 0 })
	byAlice := decode[commentsPage](t, f.call(http.MethodPost, alertPath(b.ID)+"/comments", `{"comment":"mine"}`, &alice), http.StatusOK)
	if last := byAlice.Value[len(byAlice.Value)-1]; last.CreatedByDisplayName != identity.AliceUPN || last.Comment != "mine" {
		t.Errorf("delegated comment %+v", last)
	}
	seen := decode[alertDTO](t, f.call(http.MethodGet, alertPath(a.ID), "", &fullAccess), http.StatusOK)
	if len(seen.Comments) != 2 {
		t.Errorf("GET shows %d comments, want 2", len(seen.Comments))
	}
	// The incident's own comments are separate from its alerts'.
	if after, _ := f.store.Get(identity.HomeTenantID, inc.ID); len(after.Comments) != len(inc.Comments) {
		t.Errorf("incident comments %d, want %d", len(after.Comments), len(inc.Comments))
	}
	tests := []struct{ name, body, msg string }{
		{"empty", `{"comment":""}`, "must not be empty"},
		{"blank", `{"comment":"  "}`, "must not be empty"},
		{"missing", `{}`, "must not be empty"},
		{"other key", `{"comment":"x","author":"me"}`, "Property 'author' does not exist"},
		{"wrong type", `{"@odata.type":"microsoft.graph.security.incident","comment":"x"}`, "'@odata.type' must be"},
		{"number", `{"comment":5}`, "must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, f.call(http.MethodPost, alertPath(a.ID)+"/comments", tt.body, &fullAccess), http.StatusBadRequest, "BadRequest", tt.msg)
		})
	}
	if n := len(decode[alertDTO](t, f.call(http.MethodGet, alertPath(a.ID), "", &fullAccess), http.StatusOK).Comments); n != 2 {
		t.Errorf("rejected comments were stored: %d comments", n)
	}
	expectError(t, f.call(http.MethodPost, alertPath("nope")+"/comments", `{"comment":"x"}`, &fullAccess), http.StatusNotFound, "NotFound", "Alert nope was not found")
}

func TestAlertAuthorization(t *testing.T) {
	f := newFixture(t)
	even, _ := f.findAlert(func(_ store.Alert, inc store.Incident) bool { return inc.ID%2 == 0 && inc.ID%3 != 0 })
	odd, _ := f.findAlert(func(_ store.Alert, inc store.Incident) bool { return inc.ID%2 == 1 })
	incidentsOnly := claims.Claims{TenantID: identity.HomeTenantID, AppID: identity.ClientID, Roles: []string{identity.GraphIncidentReadWrite}}
	alertRead := claims.Claims{TenantID: identity.HomeTenantID, AppID: identity.ReadOnlyClientID, Roles: []string{identity.GraphAlertRead}}
	alice := delegated(identity.AliceUPN, identity.HomeTenantID, identity.GraphAlertReadWrite)
	bob := delegated(identity.BobUPN, identity.HomeTenantID, identity.GraphAlertReadWrite)
	aliceAsApp := claims.Claims{TenantID: identity.HomeTenantID, AppID: identity.ClientID, Roles: []string{identity.GraphAlertReadWrite}, Scopes: nil}
	aliceRoleOnly := claims.Claims{TenantID: identity.HomeTenantID, AppID: identity.ClientID, UPN: identity.AliceUPN,
		Scopes: []string{identity.GraphIncidentReadWrite}, Roles: []string{identity.GraphAlertReadWrite}}
	patch := `{"status":"inProgress"}`
	comment := `{"comment":"x"}`
	tests := []struct {
		name                 string
		c                    *claims.Claims
		method, target, body string
		status               int
		code, msg            string
	}{
		{"no token: list", nil, http.MethodGet, alertsPath, "", 401, "InvalidAuthenticationToken", "Access token is empty"},
		{"no token: patch", nil, http.MethodPatch, alertPath(even.ID), patch, 401, "InvalidAuthenticationToken", ""},
		{"incident roles only: list", &incidentsOnly, http.MethodGet, alertsPath, "", 403, "Forbidden", "SecurityAlert.Read.All or SecurityAlert.ReadWrite.All"},
		{"incident roles only: get", &incidentsOnly, http.MethodGet, alertPath(even.ID), "", 403, "Forbidden", "SecurityAlert.Read.All"},
		{"read role: patch", &alertRead, http.MethodPatch, alertPath(even.ID), patch, 403, "Forbidden", "must grant SecurityAlert.ReadWrite.All."},
		{"read role: comment", &alertRead, http.MethodPost, alertPath(even.ID) + "/comments", comment, 403, "Forbidden", "SecurityAlert.ReadWrite.All"},
		{"read role: get", &alertRead, http.MethodGet, alertPath(even.ID), "", 200, "", ""},
		{"app role works for apps", &aliceAsApp, http.MethodPatch, alertPath(odd.ID), patch, 200, "", ""},
		{"delegated: role without scope", &aliceRoleOnly, http.MethodGet, alertsPath, "", 403, "Forbidden", "SecurityAlert.Read.All"},
		{"delegated: in scope", &alice, http.MethodPatch, alertPath(even.ID), patch, 200, "", ""},
		{"delegated: out of scope get", &alice, http.MethodGet, alertPath(odd.ID), "", 404, "NotFound", "was not found"},
		{"delegated: out of scope patch", &alice, http.MethodPatch, alertPath(odd.ID), patch, 404, "NotFound", "was not found"},
		{"delegated: out of scope comment", &alice, http.MethodPost, alertPath(odd.ID) + "/comments", comment, 404, "NotFound", "was not found"},
		{"delegated: user without update right", &bob, http.MethodPatch, alertPath(even.ID), patch, 403, "Forbidden", "signed-in user does not have the role"},
		{"delegated: user without update right, comment", &bob, http.MethodPost, alertPath(even.ID) + "/comments", comment, 403, "Forbidden", "signed-in user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.call(tt.method, tt.target, tt.body, tt.c)
			if tt.status == 200 {
				if resp.StatusCode != 200 {
					t.Errorf("status %d, want 200", resp.StatusCode)
				}
				resp.Body.Close()
				return
			}
			expectError(t, resp, tt.status, tt.code, tt.msg)
		})
	}
	if got, _, _ := f.store.GetAlert(identity.HomeTenantID, odd.ID); got.Status != store.AlertStatusInProgress {
		t.Errorf("out-of-scope alert status %s: only the app's PATCH may have changed it", got.Status)
	}
}

func TestAlertListIsLaggedGetIsNot(t *testing.T) {
	f := newFixture(t)
	f.store.SetListingLag(time.Hour)
	a, _ := f.findAlert(func(a store.Alert, _ store.Incident) bool { return a.Status == store.AlertStatusNew })
	got := decode[alertDTO](t, f.call(http.MethodPatch, alertPath(a.ID), `{"status":"inProgress"}`, &fullAccess), http.StatusOK)
	filter := alertsPath + "?$filter=" + url.QueryEscape("lastUpdateDateTime ge "+got.LastUpdateDateTime)
	if ids, _ := f.listAlertIDs(filter, &fullAccess); len(ids) != 0 {
		t.Errorf("lagged list shows the change: %v", ids)
	}
	byIncident := alertsPath + "?$filter=" + url.QueryEscape("incidentId eq '"+got.IncidentID+"' and status eq 'new'")
	if ids, _ := f.listAlertIDs(byIncident, &fullAccess); !slices.Contains(ids, a.ID) {
		t.Errorf("lagged list does not show the alert as it was: %v", ids)
	}
	if seen := decode[alertDTO](t, f.call(http.MethodGet, alertPath(a.ID), "", &fullAccess), http.StatusOK); seen.Status != "inProgress" {
		t.Errorf("GET is lagged: %s", seen.Status)
	}
	f.store.SetListingLag(0)
	if ids, _ := f.listAlertIDs(filter, &fullAccess); !slices.Equal(ids, []string{a.ID}) {
		t.Errorf("without the lag: %v, want [%s]", ids, a.ID)
	}
}
