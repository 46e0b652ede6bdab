package graphapi

import (
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

func (f *fixture) find(keep func(store.Incident) bool) store.Incident {
	f.t.Helper()
	for _, inc := range f.store.List(identity.HomeTenantID) {
		if keep(inc) {
			return inc
		}
	}
	f.t.Fatal("no sample incident fits")
	return store.Incident{}
}

func path(id int64) string { return incidentsPath + "/" + strconv.FormatInt(id, 10) }

func TestGetIncident(t *testing.T) {
	f := newFixture(t)
	redirected := f.find(func(i store.Incident) bool { return i.Status == store.StatusRedirected })
	got := decode[incidentDTO](t, f.call(http.MethodGet, path(redirected.ID)+"?$expand=alerts", "", &fullAccess), http.StatusOK)
	if got.ID != strconv.FormatInt(redirected.ID, 10) || got.Status != "redirected" ||
		got.RedirectIncidentID == nil || *got.RedirectIncidentID != strconv.FormatInt(redirected.RedirectIncidentID, 10) ||
		got.CreatedDateTime != redirected.CreatedTime.Format("2006-01-02T15:04:05.9999999Z07:00") ||
		len(got.Alerts) != len(redirected.Alerts) {
		t.Errorf("got %+v for %+v", got, redirected)
	}
	for _, a := range got.Alerts {
		for _, e := range a.Evidence {
			if typ, _ := e["@odata.type"].(string); typ == "" || e["verdict"] == nil || e["createdDateTime"] == nil {
				t.Errorf("evidence without @odata.type, verdict or createdDateTime: %v", e)
			}
		}
	}
	active := f.find(func(i store.Incident) bool { return i.Status == store.StatusActive })
	plain := decode[incidentDTO](t, f.call(http.MethodGet, path(active.ID), "", &fullAccess), http.StatusOK)
	if plain.RedirectIncidentID != nil || plain.Alerts != nil {
		t.Errorf("active incident without $expand: redirect %v, alerts %v", plain.RedirectIncidentID, plain.Alerts)
	}

	second := f.store.List(identity.SecondTenantID)[0]
	tests := []struct {
		name, target string
		status       int
		code, msg    string
	}{
		{"unknown id", path(999999), http.StatusNotFound, "NotFound", "Incident 999999 was not found"},
		{"other tenant's id", path(second.ID), http.StatusNotFound, "NotFound", "Incident " + strconv.FormatInt(second.ID, 10) + " was not found"},
		{"non-numeric id", incidentsPath + "/abc", http.StatusBadRequest, "BadRequest", "Invalid incident id 'abc'"},
		{"negative id", incidentsPath + "/-4", http.StatusBadRequest, "BadRequest", "Invalid incident id"},
		{"bad expand", path(active.ID) + "?$expand=evidence", http.StatusBadRequest, "BadRequest", "only 'alerts'"},
		{"unsupported option", path(active.ID) + "?$filter=x", http.StatusBadRequest, "BadRequest", "'$filter' is not supported"},
		{"unknown route", "/v1.0/security/alerts", http.StatusNotFound, "NotFound", "Resource not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, f.call(http.MethodGet, tt.target, "", &fullAccess), tt.status, tt.code, tt.msg)
		})
	}
}

func TestUpdateIncident(t *testing.T) {
	tests := []struct {
		name string
		body string
		want func(got incidentDTO) bool
	}{
		{"status and owner", `{"status":"Resolved","assignedTo":"o'brien@contoso.com"}`, func(g incidentDTO) bool {
			return g.Status == "resolved" && g.AssignedTo != nil && *g.AssignedTo == store.OBrienOwner
		}},
		{"unassign", `{"assignedTo":null}`, func(g incidentDTO) bool { return g.AssignedTo == nil }},
		{"inProgress, case-insensitive", `{"status":"INPROGRESS"}`, func(g incidentDTO) bool { return g.Status == "inProgress" }},
		{"metadata spellings", `{"classification":"TruePositive","determination":"compromisedAccount"}`, func(g incidentDTO) bool {
			return g.Classification == "truePositive" && g.Determination == "compromisedAccount"
		}},
		{"notMalicious", `{"classification":"falsePositive","determination":"notMalicious"}`, func(g incidentDTO) bool { return g.Determination == "notMalicious" }},
		{"notEnoughDataToValidate", `{"determination":"notEnoughDataToValidate"}`, func(g incidentDTO) bool { return g.Determination == "notEnoughDataToValidate" }},
		{"confirmedActivity", `{"classification":"informationalExpectedActivity","determination":"confirmedActivity"}`, func(g incidentDTO) bool {
			return g.Determination == "confirmedActivity"
		}},
		{"custom tags replace", `{"customTags":["A","B"]}`, func(g incidentDTO) bool { return slices.Equal(g.CustomTags, []string{"A", "B"}) }},
		{"annotation ignored", `{"@odata.type":"#microsoft.graph.security.incident","customTags":[]}`, func(g incidentDTO) bool { return len(g.CustomTags) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			inc := f.find(func(i store.Incident) bool { return i.Status == store.StatusActive && i.AssignedTo != "" })
			got := decode[incidentDTO](t, f.call(http.MethodPatch, path(inc.ID), tt.body, &fullAccess), http.StatusOK)
			if !tt.want(got) {
				t.Errorf("PATCH answered %+v", got)
			}
			if got.LastUpdateDateTime <= inc.LastUpdateTime.Format("2006-01-02T15:04:05.9999999Z") ||
				got.LastModifiedBy == nil || *got.LastModifiedBy != "API-App:"+identity.ClientID {
				t.Errorf("lastUpdateDateTime %s (was %v), lastModifiedBy %v", got.LastUpdateDateTime, inc.LastUpdateTime, got.LastModifiedBy)
			}
			again := decode[incidentDTO](t, f.call(http.MethodGet, path(inc.ID), "", &fullAccess), http.StatusOK)
			if !tt.want(again) {
				t.Errorf("GET after PATCH answered %+v: update not persisted", again)
			}
		})
	}
}

func TestUpdateIncidentRejects(t *testing.T) {
	f := newFixture(t)
	inc := f.store.List(identity.HomeTenantID)[0]
	tests := []struct {
		name, target, body string
		status             int
		msg                string
	}{
		{"awaitingAction not settable", path(inc.ID), `{"status":"awaitingAction"}`, 400, "not a valid status"},
		{"unknown status", path(inc.ID), `{"status":"closed"}`, 400, "not a valid status"},
		{"unknown classification", path(inc.ID), `{"classification":"benign"}`, 400, "not a valid classification"},
		{"unknown determination", path(inc.ID), `{"determination":"aliens"}`, 400, "not a valid determination"},
		// The incident page's property-list spellings are not members of
		// alertDetermination: Graph rejects them (reference §7.3).
		{"G3 compromisedUser", path(inc.ID), `{"classification":"truePositive","determination":"compromisedUser"}`, 400, `"compromisedUser" is not a valid determination`},
		{"G3 clean", path(inc.ID), `{"classification":"falsePositive","determination":"clean"}`, 400, `"clean" is not a valid determination`},
		{"G3 insufficientData", path(inc.ID), `{"classification":"falsePositive","determination":"insufficientData"}`, 400, `"insufficientData" is not a valid determination`},
		{"G3 confirmedUserActivity", path(inc.ID), `{"classification":"informationalExpectedActivity","determination":"confirmedUserActivity"}`, 400, `"confirmedUserActivity" is not a valid determination`},
		{"XDR spelling", path(inc.ID), `{"determination":"NoEnoughDataToValidate"}`, 400, "not a valid determination"},
		{"unknown key", path(inc.ID), `{"severity":"high"}`, 400, "Property 'severity'"},
		{"unknown key, non-string", path(inc.ID), `{"tags":["a"]}`, 400, "Property 'tags' does not exist"},
		{"number status", path(inc.ID), `{"status":1}`, 400, "must be a string"},
		{"null status", path(inc.ID), `{"status":null}`, 400, "cannot be null"},
		{"tags not array", path(inc.ID), `{"customTags":"a"}`, 400, "array of strings"},
		{"bad JSON", path(inc.ID), `{"status":`, 400, "must be a JSON object"},
		{"array body", path(inc.ID), `[]`, 400, "must be a JSON object"},
		{"trailing data", path(inc.ID), `{} {}`, 400, "single JSON object"},
		{"empty body", path(inc.ID), ``, 400, "must be a JSON object"},
		{"unknown id", path(424242), `{"status":"active"}`, 404, "Incident 424242 was not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := map[int]string{400: "BadRequest", 404: "NotFound"}[tt.status]
			expectError(t, f.call(http.MethodPatch, tt.target, tt.body, &fullAccess), tt.status, code, tt.msg)
		})
	}
	if after, _ := f.store.Get(identity.HomeTenantID, inc.ID); !after.LastUpdateTime.Equal(inc.LastUpdateTime) {
		t.Error("a rejected PATCH changed the incident")
	}
}

func TestAddComment(t *testing.T) {
	f := newFixture(t)
	inc := f.store.List(identity.HomeTenantID)[4]
	user := fullAccess
	user.UPN = "analyst@contoso.com"
	body := `{"@odata.type":"microsoft.graph.security.alertComment","comment":"Isolated the device"}`
	resp := decode[struct {
		Context string        `json:"@odata.context"`
		Value   []commentJSON `json:"value"`
	}](t, f.call(http.MethodPost, path(inc.ID)+"/comments", body, &user), http.StatusOK)
	if len(resp.Value) != len(inc.Comments)+1 || resp.Context == "" {
		t.Fatalf("%d comments returned, want %d", len(resp.Value), len(inc.Comments)+1)
	}
	last := resp.Value[len(resp.Value)-1]
	if last.Comment != "Isolated the device" || last.CreatedByDisplayName != "analyst@contoso.com" || last.CreatedDateTime == "" {
		t.Errorf("new comment %+v", last)
	}
	got := decode[incidentDTO](t, f.call(http.MethodGet, path(inc.ID), "", &fullAccess), http.StatusOK)
	if !slices.Equal(got.Comments, resp.Value) {
		t.Errorf("GET shows comments %+v, want %+v", got.Comments, resp.Value)
	}

	for name, bad := range map[string]string{
		"empty comment":   `{"@odata.type":"microsoft.graph.security.alertComment","comment":""}`,
		"blank comment":   `{"comment":"   "}`,
		"missing comment": `{"@odata.type":"microsoft.graph.security.alertComment"}`,
		"wrong type":      `{"@odata.type":"microsoft.graph.security.incident","comment":"x"}`,
		"extra key":       `{"comment":"x","author":"me"}`,
	} {
		t.Run(name, func(t *testing.T) {
			resp := f.call(http.MethodPost, path(inc.ID)+"/comments", bad, &fullAccess)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
	expectError(t, f.call(http.MethodPost, path(1)+"/comments", `{"comment":"x"}`, &fullAccess), 404, "NotFound", "Incident 1 was not found")
}

func TestUnknownEnumMembers(t *testing.T) {
	f := newFixture(t)
	inc := f.find(func(i store.Incident) bool { return i.Status == store.StatusAwaitingAction })
	tests := []struct {
		name    string
		headers []string
		want    string
	}{
		{"no Prefer", nil, "unknownFutureValue"},
		{"other preference", []string{"Prefer", "return=minimal"}, "unknownFutureValue"},
		{"include-unknown-enum-members", []string{"Prefer", "include-unknown-enum-members"}, "awaitingAction"},
		{"among others", []string{"Prefer", "odata.maxpagesize=5, Include-Unknown-Enum-Members"}, "awaitingAction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decode[incidentDTO](t, f.call(http.MethodGet, path(inc.ID), "", &fullAccess, tt.headers...), http.StatusOK)
			if got.Status != tt.want {
				t.Errorf("status %q, want %q", got.Status, tt.want)
			}
		})
	}
}

func TestPermissions(t *testing.T) {
	f := newFixture(t)
	id := f.store.List(identity.HomeTenantID)[0].ID
	withRoles := func(roles ...string) *claims.Claims {
		c := claims.Claims{TenantID: identity.HomeTenantID, AppID: identity.ReadOnlyClientID, Roles: roles}
		return &c
	}
	delegated := &claims.Claims{TenantID: identity.HomeTenantID, Scopes: []string{identity.GraphIncidentRead}, UPN: "u@contoso.com"}
	type call struct{ method, target, body string }
	list := call{http.MethodGet, incidentsPath, ""}
	get := call{http.MethodGet, path(id), ""}
	patch := call{http.MethodPatch, path(id), `{"status":"active"}`}
	comment := call{http.MethodPost, path(id) + "/comments", `{"comment":"x"}`}
	hunt := call{http.MethodPost, "/v1.0/security/runHuntingQuery", `{"Query":"DeviceProcessEvents | take 1"}`}
	tests := []struct {
		name   string
		call   call
		claims *claims.Claims
		status int
		msg    string
	}{
		{"list read", list, withRoles(identity.GraphIncidentRead), 200, ""},
		{"list read-write", list, withRoles(identity.GraphIncidentReadWrite), 200, ""},
		{"list delegated scope", list, delegated, 200, ""},
		{"list hunting only", list, withRoles(identity.GraphHunting), 403, identity.GraphIncidentRead},
		{"list XDR permission", list, withRoles(identity.XDRIncidentRead), 403, identity.GraphIncidentReadWrite},
		{"get none", get, withRoles(), 403, identity.GraphIncidentRead},
		{"patch read only", patch, withRoles(identity.GraphIncidentRead), 403, identity.GraphIncidentReadWrite},
		{"patch read-write", patch, withRoles(identity.GraphIncidentReadWrite), 200, ""},
		{"comment read only", comment, withRoles(identity.GraphIncidentRead), 403, identity.GraphIncidentReadWrite},
		{"hunting without", hunt, withRoles(identity.GraphIncidentReadWrite), 403, identity.GraphHunting},
		{"list no claims", list, nil, 401, "Access token is empty"},
		{"hunting no claims", hunt, nil, 401, "Access token is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.call(tt.call.method, tt.call.target, tt.call.body, tt.claims)
			switch tt.status {
			case 200:
				decode[map[string]any](t, resp, 200)
			case 401:
				expectError(t, resp, 401, "InvalidAuthenticationToken", tt.msg)
			default:
				expectError(t, resp, 403, "Forbidden", tt.msg)
			}
		})
	}
}
