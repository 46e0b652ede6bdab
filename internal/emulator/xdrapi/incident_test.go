package xdrapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/kql"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

var entityKeys = []string{
	"entityType", "sha1", "sha256", "fileName", "filePath", "processId", "processCommandLine", "processCreationTime",
	"parentProcessId", "parentProcessCreationTime", "ipAddress", "url", "accountName", "domainName", "userSid",
	"aadUserId", "userPrincipalName", "mailboxDisplayName", "mailboxAddress", "clusterBy", "sender", "recipient",
	"subject", "deliveryAction", "securityGroupId", "securityGroupName", "registryHive", "registryKey",
	"registryValueType", "registryValue", "deviceId",
}

var deviceKeys = []string{
	"mdatpDeviceId", "aadDeviceId", "deviceDnsName", "osPlatform", "version", "osProcessor", "osBuild",
	"healthStatus", "riskScore", "rbacGroupName", "rbacGroupId", "firstSeen",
}

func TestGetIncidentShape(t *testing.T) {
	f := newFixture(t)
	entityTypes := map[string]bool{}
	for _, inc := range f.store.List(identity.HomeTenantID)[:60] {
		got := decode[incidentDTO](t, f.call(http.MethodGet, path(inc.ID), "", &fullAccess), http.StatusOK)
		if got.IncidentID != inc.ID || got.CreatedTime != inc.CreatedTime.Format("2006-01-02T15:04:05.9999999Z") {
			t.Fatalf("incident %d: got id %d created %s", inc.ID, got.IncidentID, got.CreatedTime)
		}
		if (got.RedirectIncidentID == nil) != (inc.RedirectIncidentID == 0) {
			t.Errorf("incident %d: redirectIncidentId %v", inc.ID, got.RedirectIncidentID)
		}
		for _, a := range got.Alerts {
			for _, e := range a.Entities {
				entityTypes[e["entityType"].(string)] = true
				for _, k := range entityKeys {
					if _, ok := e[k]; !ok {
						t.Errorf("incident %d: entity %v lacks key %q", inc.ID, e["entityType"], k)
					}
				}
			}
			for _, d := range a.Devices {
				for _, k := range deviceKeys {
					if _, ok := d[k]; !ok {
						t.Errorf("incident %d: device lacks key %q", inc.ID, k)
					}
				}
			}
		}
	}
	for _, typ := range []string{"User", "Ip", "Url", "File", "Process", "MailBox"} {
		if !entityTypes[typ] {
			t.Errorf("no %s entity in the first 60 incidents", typ)
		}
	}
}

func TestEnumSpellingsOut(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		keep func(store.Incident) bool
		want func(incidentDTO) bool
	}{
		{"unknown severity", func(i store.Incident) bool { return i.Severity == store.SeverityUnknown },
			func(g incidentDTO) bool { return g.Severity == "UnSpecified" }},
		{"in progress", func(i store.Incident) bool { return i.Status == store.StatusInProgress },
			func(g incidentDTO) bool { return g.Status == "InProgress" }},
		{"awaiting action shown as Active", func(i store.Incident) bool { return i.Status == store.StatusAwaitingAction },
			func(g incidentDTO) bool { return g.Status == "Active" }},
		{"unclassified", func(i store.Incident) bool { return i.Classification == store.ClassificationUnknown },
			func(g incidentDTO) bool { return g.Classification == "Unknown" && g.Determination == "NotAvailable" }},
		{"compromised user", func(i store.Incident) bool { return i.Determination == store.DeterminationCompromisedAccount },
			func(g incidentDTO) bool {
				return g.Classification == "TruePositive" && g.Determination == "CompromisedUser"
			}},
		{"informational expected", func(i store.Incident) bool {
			return i.Classification == store.ClassificationInformationalExpectedActivity
		}, func(g incidentDTO) bool { return g.Classification == "InformationalExpectedActivity" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inc store.Incident
			for _, i := range f.store.List(identity.HomeTenantID) {
				if tt.keep(i) {
					inc = i
					break
				}
			}
			if inc.ID == 0 {
				t.Fatal("no sample incident fits")
			}
			if got := decode[incidentDTO](t, f.call(http.MethodGet, path(inc.ID), "", &fullAccess), http.StatusOK); !tt.want(got) {
				t.Errorf("incident %d rendered %+v", inc.ID, got)
			}
		})
	}
}

func TestGetIncidentErrors(t *testing.T) {
	f := newFixture(t)
	other := f.store.List(identity.SecondTenantID)[0].ID
	tests := []struct {
		name, target string
		status       int
		code, msg    string
	}{
		{"unknown", path(77), 404, "ResourceNotFound", "Incident 77 was not found"},
		{"other tenant", path(other), 404, "ResourceNotFound", "Incident " + strconv.FormatInt(other, 10) + " was not found"},
		{"non-numeric", "/api/incidents/x1", 400, "BadRequest", "Invalid incident id 'x1'"},
		{"overflow", "/api/incidents/99999999999999999999", 400, "BadRequest", "Invalid incident id"},
		{"unknown route", "/api/alerts", 404, "NotFound", "No API operation"},
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
		want func(incidentDTO) bool
	}{
		{"documented example", `{"status":"Resolved","classification":"TruePositive","determination":"Malware","comment":"pen test"}`,
			func(g incidentDTO) bool {
				last := g.Comments[len(g.Comments)-1]
				return g.Status == "Resolved" && g.Determination == "Malware" && last.Comment == "pen test" && last.CreatedBy == "API-App:"+identity.ClientID
			}},
		{"X4 CompromisedAccount", `{"classification":"truepositive","determination":"CompromisedAccount"}`,
			func(g incidentDTO) bool { return g.Determination == "CompromisedUser" }},
		{"X4 NoEnoughDataToValidate", `{"classification":"FalsePositive","determination":"NoEnoughDataToValidate"}`,
			func(g incidentDTO) bool { return g.Determination == "InsufficientData" }},
		{"X4 ConfirmedActivity", `{"classification":"InformationalExpectedActivity","determination":"ConfirmedActivity"}`,
			func(g incidentDTO) bool { return g.Determination == "ConfirmedUserActivity" }},
		{"X2 spelling", `{"determination":"InsufficientData"}`, func(g incidentDTO) bool { return g.Determination == "InsufficientData" }},
		{"Clean", `{"determination":"clean"}`, func(g incidentDTO) bool { return g.Determination == "Clean" }},
		{"tags replace", `{"tags":["One","Two"]}`, func(g incidentDTO) bool { return slices.Equal(g.Tags, []string{"One", "Two"}) }},
		{"assign", `{"assignedTo":"o'brien@contoso.com","status":"inprogress"}`, func(g incidentDTO) bool {
			return g.AssignedTo != nil && *g.AssignedTo == store.OBrienOwner && g.Status == "InProgress"
		}},
		{"unassign", `{"assignedTo":null}`, func(g incidentDTO) bool { return g.AssignedTo == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			inc := f.store.List(identity.HomeTenantID)[7]
			got := decode[incidentDTO](t, f.call(http.MethodPatch, path(inc.ID), tt.body, &fullAccess), http.StatusOK)
			if !tt.want(got) {
				t.Errorf("PATCH answered %+v", got)
			}
			if got.LastUpdateTime <= inc.LastUpdateTime.Format("2006-01-02T15:04:05.9999999Z") {
				t.Errorf("lastUpdateTime %s not after %v", got.LastUpdateTime, inc.LastUpdateTime)
			}
			again := decode[incidentDTO](t, f.call(http.MethodGet, path(inc.ID), "", &fullAccess), http.StatusOK)
			if !tt.want(again) {
				t.Errorf("GET after PATCH answered %+v: not persisted", again)
			}
		})
	}
}

func TestUpdateIncidentRejects(t *testing.T) {
	f := newFixture(t)
	inc := f.store.List(identity.HomeTenantID)[0]
	tests := []struct {
		name, body, code, msg string
	}{
		{"unknown key", `{"severity":"High"}`, "InvalidInput", "'severity' is not an updatable"},
		{"Graph key", `{"customTags":["a"]}`, "InvalidInput", "'customTags' is not an updatable"},
		{"bad status", `{"status":"Closed"}`, "InvalidInput", "not a valid status"},
		{"awaiting action", `{"status":"AwaitingAction"}`, "InvalidInput", "not a valid status"},
		{"bad classification", `{"classification":"Benign"}`, "InvalidInput", "not a valid classification"},
		{"bad determination", `{"determination":"Aliens"}`, "InvalidInput", "not a valid determination"},
		{"empty comment", `{"comment":""}`, "InvalidInput", "'comment' must not be empty"},
		{"tags not array", `{"tags":"a"}`, "InvalidInput", "array of strings"},
		{"status number", `{"status":2}`, "InvalidInput", "must be a string"},
		{"null status", `{"status":null}`, "InvalidInput", "cannot be null"},
		{"bad JSON", `{"status":"Active"`, "InvalidRequestBody", "JSON object"},
		{"not an object", `"Active"`, "InvalidRequestBody", "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, f.call(http.MethodPatch, path(inc.ID), tt.body, &fullAccess), http.StatusBadRequest, tt.code, tt.msg)
		})
	}
	expectError(t, f.call(http.MethodPatch, path(5), `{"status":"Active"}`, &fullAccess), 404, "ResourceNotFound", "Incident 5 was not found")
	if after, _ := f.store.Get(identity.HomeTenantID, inc.ID); !after.LastUpdateTime.Equal(inc.LastUpdateTime) {
		t.Error("a rejected PATCH changed the incident")
	}
}

func TestPermissions(t *testing.T) {
	f := newFixture(t)
	id := f.store.List(identity.HomeTenantID)[0].ID
	with := func(roles ...string) *claims.Claims {
		return &claims.Claims{TenantID: identity.HomeTenantID, AppID: identity.ReadOnlyClientID, Roles: roles}
	}
	type call struct{ method, target, body string }
	list := call{http.MethodGet, "/api/incidents?$top=1", ""}
	get := call{http.MethodGet, path(id), ""}
	patch := call{http.MethodPatch, path(id), `{"status":"Active"}`}
	hunt := call{http.MethodPost, "/api/advancedhunting/run", `{"Query":"DeviceProcessEvents | take 1"}`}
	tests := []struct {
		name   string
		call   call
		claims *claims.Claims
		status int
		msg    string
	}{
		{"list read", list, with(identity.XDRIncidentRead), 200, ""},
		{"get read-write", get, with(identity.XDRIncidentReadWrite), 200, ""},
		{"list Graph permission", list, with(identity.GraphIncidentRead), 403, identity.XDRIncidentRead},
		{"get hunting only", get, with(identity.XDRHunting), 403, identity.XDRIncidentReadWrite},
		{"patch read", patch, with(identity.XDRIncidentRead), 403, identity.XDRIncidentReadWrite},
		{"patch read-write", patch, with(identity.XDRIncidentReadWrite), 200, ""},
		{"hunting without", hunt, with(identity.XDRIncidentReadWrite), 403, identity.XDRHunting},
		{"hunting", hunt, with(identity.XDRHunting), 200, ""},
		{"no claims", get, nil, 401, "access token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.call(tt.call.method, tt.call.target, tt.call.body, tt.claims)
			switch tt.status {
			case 200:
				if resp.StatusCode != 200 {
					b, _ := io.ReadAll(resp.Body)
					t.Errorf("status %d: %s", resp.StatusCode, b)
				}
			case 401:
				expectError(t, resp, 401, "Unauthorized", tt.msg)
			default:
				expectError(t, resp, 403, "Forbidden", tt.msg)
			}
		})
	}
}

// kqlMessage is the message the KQL engine gives for an invalid query.
func kqlMessage(t *testing.T, query string) string {
	t.Helper()
	_, err := kql.NewSampleDatabase(identity.HomeTenantID, refTime).Run(context.Background(), query)
	var kqlErr *kql.Error
	if !errors.As(err, &kqlErr) || kqlErr.Message == "" {
		t.Fatalf("query %q: err = %v, want a *kql.Error", query, err)
	}
	return kqlErr.Message
}

type huntingDTO struct {
	Stats   map[string]json.RawMessage `json:"Stats"`
	Schema  []huntingColumn            `json:"Schema"`
	Results []map[string]any           `json:"Results"`
}

func TestAdvancedHunting(t *testing.T) {
	f := newFixture(t)
	got := decode[huntingDTO](t, f.call(http.MethodPost, "/api/advancedhunting/run", `{"Query":"DeviceProcessEvents | take 5"}`, &fullAccess), http.StatusOK)
	for _, k := range []string{"ExecutionTime", "resource_usage", "dataset_statistics"} {
		if _, ok := got.Stats[k]; !ok {
			t.Errorf("Stats lacks %q", k)
		}
	}
	if len(got.Schema) == 0 || len(got.Results) == 0 {
		t.Fatalf("empty Schema or Results: %+v", got)
	}
	datetimes := 0
	for _, row := range got.Results {
		for _, col := range got.Schema {
			v, ok := row[col.Name]
			if !ok {
				t.Errorf("row lacks column %q", col.Name)
			}
			if col.Type == "DateTime" && v != nil {
				if s, isString := v.(string); !isString || !strings.HasSuffix(s, "Z") {
					t.Errorf("DateTime %q = %v is not an RFC 3339 UTC string", col.Name, v)
				}
				datetimes++
			}
		}
	}
	if datetimes == 0 {
		t.Error("no DateTime value in the results; the conversion is untested")
	}

	tests := []struct {
		name, body, code, msg string
	}{
		{"KQL syntax error", `{"Query":"DeviceProcessEvents | where | !!"}`, "BadRequest", kqlMessage(t, "DeviceProcessEvents | where | !!")},
		{"KQL unknown table", `{"Query":"NoSuchTable"}`, "BadRequest", kqlMessage(t, "NoSuchTable")},
		{"lower-case key", `{"query":"DeviceProcessEvents"}`, "MissingRequiredParameter", "'Query'"},
		{"empty query", `{"Query":""}`, "MissingRequiredParameter", "'Query'"},
		{"query not string", `{"Query":["x"]}`, "InvalidRequestBody", "must be a string"},
		{"not JSON", `Query`, "InvalidRequestBody", "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, f.call(http.MethodPost, "/api/advancedhunting/run", tt.body, &fullAccess), http.StatusBadRequest, tt.code, tt.msg)
		})
	}
}
