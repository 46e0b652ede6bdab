package graphapi

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/access"
	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// alertDTO is the part of an alerts_v2 item the tests read.
type alertDTO struct {
	ID                    string           `json:"id"`
	IncidentID            string           `json:"incidentId"`
	TenantID              string           `json:"tenantId"`
	Status                string           `json:"status"`
	Severity              string           `json:"severity"`
	Classification        string           `json:"classification"`
	Determination         string           `json:"determination"`
	ServiceSource         string           `json:"serviceSource"`
	DetectionSource       string           `json:"detectionSource"`
	DetectorID            string           `json:"detectorId"`
	AssignedTo            *string          `json:"assignedTo"`
	IncidentWebURL        string           `json:"incidentWebUrl"`
	RecommendedActions    string           `json:"recommendedActions"`
	MitreTechniques       []string         `json:"mitreTechniques"`
	CreatedDateTime       string           `json:"createdDateTime"`
	LastUpdateDateTime    string           `json:"lastUpdateDateTime"`
	ResolvedDateTime      *string          `json:"resolvedDateTime"`
	FirstActivityDateTime string           `json:"firstActivityDateTime"`
	LastActivityDateTime  string           `json:"lastActivityDateTime"`
	Comments              []commentJSON    `json:"comments"`
	SystemTags            []string         `json:"systemTags"`
	Evidence              []map[string]any `json:"evidence"`
}

func alerts(t *testing.T, raw []json.RawMessage) []alertDTO {
	t.Helper()
	out := make([]alertDTO, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// sampleAlerts returns the tenant's alerts in the default list order
// (created desc, id desc), with the incidents that hold them.
func (f *fixture) sampleAlerts(tenant string, c claims.Claims) []store.Alert {
	var out []store.Alert
	for _, inc := range f.store.List(tenant) {
		if !access.Sees(c, inc.ID) {
			continue
		}
		out = append(out, inc.Alerts...)
	}
	slices.SortFunc(out, func(x, y store.Alert) int {
		if c := y.CreatedTime.Compare(x.CreatedTime); c != 0 {
			return c
		}
		return cmp.Compare(y.ID, x.ID)
	})
	return out
}

func alertIDs(list []store.Alert, keep func(store.Alert) bool) []string {
	var out []string
	for _, a := range list {
		if keep(a) {
			out = append(out, a.ID)
		}
	}
	return out
}

// listAlertIDs follows nextLinks from target with claims c and returns every
// id in order and the number of pages.
func (f *fixture) listAlertIDs(target string, c *claims.Claims) ([]string, int) {
	f.t.Helper()
	var got []string
	pages := 0
	for ; target != ""; pages++ {
		if pages > 200 {
			f.t.Fatal("more than 200 pages: nextLink loop?")
		}
		p := decode[page](f.t, f.call(http.MethodGet, target, "", c), http.StatusOK)
		if !strings.HasSuffix(p.Context, "/v1.0/$metadata#security/alerts_v2") {
			f.t.Errorf("@odata.context %q", p.Context)
		}
		for _, a := range alerts(f.t, p.Value) {
			got = append(got, a.ID)
		}
		target = ""
		if p.NextLink != "" {
			u, err := url.Parse(p.NextLink)
			if err != nil || u.Scheme != "https" || u.Host != "graph.test:8443" || u.Path != alertsPath {
				f.t.Fatalf("nextLink %q is not an absolute https URL on the request host", p.NextLink)
			}
			target = u.RequestURI()
		}
	}
	return got, pages
}

func TestListAlertsFilters(t *testing.T) {
	f := newFixture(t)
	all := f.sampleAlerts(identity.HomeTenantID, fullAccess)
	if len(all) < 300 {
		t.Fatalf("only %d sample alerts", len(all))
	}
	cutoff := all[len(all)/2].CreatedTime
	updCutoff := all[len(all)/3].LastUpdateTime
	someIncident := all[10].IncidentID
	tests := []struct {
		name   string
		filter string
		keep   func(store.Alert) bool
	}{
		{"no filter", "", func(store.Alert) bool { return true }},
		{"status new", "status eq 'new'", func(a store.Alert) bool { return a.Status == store.AlertStatusNew }},
		{"status case-insensitive", "status eq 'InProgress'", func(a store.Alert) bool { return a.Status == store.AlertStatusInProgress }},
		{"status ne resolved", "status ne 'resolved'", func(a store.Alert) bool { return a.Status != store.AlertStatusResolved }},
		{"status unknownFutureValue", "status eq 'unknownFutureValue'", func(store.Alert) bool { return false }},
		{"severity", "severity eq 'high'", func(a store.Alert) bool { return a.Severity == store.SeverityHigh }},
		{"service source", "serviceSource eq 'microsoftDefenderForOffice365'", func(a store.Alert) bool { return a.ServiceSource == store.ServiceDefenderForOffice }},
		{"service source unused member", "serviceSource eq 'dataLossPrevention'", func(store.Alert) bool { return false }},
		{"detection source", "detectionSource eq 'cloudAppSecurity'", func(a store.Alert) bool { return a.DetectionSource == store.DetectionCloudAppSecurity }},
		{"detection source or", "detectionSource eq 'antivirus' or detectionSource eq 'customTi'", func(a store.Alert) bool {
			return a.DetectionSource == store.DetectionAntivirus || a.DetectionSource == store.DetectionCustomTI
		}},
		{"assigned to, escaped quote", "assignedTo eq 'o''brien@contoso.com'", func(a store.Alert) bool { return a.AssignedTo == store.OBrienOwner }},
		{"unassigned", "assignedTo eq null", func(a store.Alert) bool { return a.AssignedTo == "" }},
		{"classification", "classification eq 'truePositive'", func(a store.Alert) bool { return a.Classification == store.ClassificationTruePositive }},
		{"determination", "determination eq 'notMalicious'", func(a store.Alert) bool { return a.Determination == store.DeterminationNotMalicious }},
		{"created range", "createdDateTime ge " + cutoff.Format(time.RFC3339Nano) + " and createdDateTime lt " + refTime.Format(time.RFC3339),
			func(a store.Alert) bool { return !a.CreatedTime.Before(cutoff) && a.CreatedTime.Before(refTime) }},
		{"last update", "lastUpdateDateTime gt " + updCutoff.Format(time.RFC3339Nano), func(a store.Alert) bool { return a.LastUpdateTime.After(updCutoff) }},
		{"incident", "incidentId eq '" + strconv.FormatInt(someIncident, 10) + "'", func(a store.Alert) bool { return a.IncidentID == someIncident }},
		{"not incident and high", "not (incidentId eq '" + strconv.FormatInt(someIncident, 10) + "') and severity eq 'high'", func(a store.Alert) bool {
			return a.IncidentID != someIncident && a.Severity == store.SeverityHigh
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := alertIDs(all, tt.keep)
			target := alertsPath + "?$top=50"
			if tt.filter != "" {
				target += "&$filter=" + url.QueryEscape(tt.filter)
			}
			got, _ := f.listAlertIDs(target, &fullAccess)
			if !slices.Equal(got, want) {
				t.Errorf("got %d alerts, want %d\n got %v\nwant %v", len(got), len(want), got, want)
			}
			count := decode[page](t, f.call(http.MethodGet, target+"&$count=true", "", &fullAccess), http.StatusOK)
			if count.Count == nil || *count.Count != len(want) {
				t.Errorf("@odata.count %v, want %d", count.Count, len(want))
			}
		})
	}
	// The filters that must match something do.
	for _, filter := range []string{"status eq 'new'", "status eq 'resolved'", "status eq 'inProgress'", "assignedTo eq 'o''brien@contoso.com'"} {
		if got, _ := f.listAlertIDs(alertsPath+"?$filter="+url.QueryEscape(filter), &fullAccess); len(got) == 0 {
			t.Errorf("%s matches no sample alert", filter)
		}
	}
}

func TestListAlertsPagingAndOrder(t *testing.T) {
	f := newFixture(t)
	all := f.sampleAlerts(identity.HomeTenantID, fullAccess)
	byUpdate := slices.Clone(all)
	slices.SortFunc(byUpdate, func(x, y store.Alert) int {
		if c := x.LastUpdateTime.Compare(y.LastUpdateTime); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	byCreatedAsc := slices.Clone(all)
	slices.Reverse(byCreatedAsc)
	every := func(store.Alert) bool { return true }
	tests := []struct {
		name      string
		query     string
		want      []string
		wantPages int
	}{
		{"default page size", "", alertIDs(all, every), (len(all) + AlertDefaultPageSize - 1) / AlertDefaultPageSize},
		{"small pages", "?$top=7", alertIDs(all, every), (len(all) + 6) / 7},
		{"skip on the first page only", "?$top=40&$skip=5", alertIDs(all[5:], every), (len(all) - 5 + 39) / 40},
		{"orderby lastUpdateDateTime asc", "?$orderby=lastUpdateDateTime%20asc&$top=50", alertIDs(byUpdate, every), (len(all) + 49) / 50},
		{"orderby createdDateTime (asc by default)", "?$orderby=createdDateTime&$top=50", alertIDs(byCreatedAsc, every), (len(all) + 49) / 50},
		{"orderby createdDateTime desc is the default", "?$orderby=createdDateTime+desc", alertIDs(all, every), (len(all) + 49) / 50},
		{"top 0", "?$top=0", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := f.listAlertIDs(alertsPath+tt.query, &fullAccess)
			if !slices.Equal(got, tt.want) || pages != tt.wantPages {
				t.Errorf("got %d alerts in %d pages, want %d in %d", len(got), pages, len(tt.want), tt.wantPages)
			}
		})
	}
}

func TestListAlertsPagingSurvivesUpdates(t *testing.T) {
	f := newFixture(t)
	all := f.sampleAlerts(identity.HomeTenantID, fullAccess)
	first := decode[page](t, f.call(http.MethodGet, alertsPath+"?$top=20", "", &fullAccess), http.StatusOK)
	// An alert of the next page changes between the requests.
	resolved := store.AlertStatusResolved
	if _, _, err := f.store.UpdateAlert(identity.HomeTenantID, all[25].ID, store.AlertPatch{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(first.NextLink)
	rest, _ := f.listAlertIDs(u.RequestURI(), &fullAccess)
	got := append(alertIDs(nil, nil), rest...)
	for _, a := range alerts(t, first.Value) {
		got = append([]string{a.ID}, got...)
	}
	if len(got) != len(all) || len(rest) != len(all)-20 || rest[5] != all[25].ID {
		t.Errorf("after an update between pages: %d alerts (%d after the first page), want %d without gaps or duplicates", len(got), len(rest), len(all))
	}
}

func TestListAlertsRejects(t *testing.T) {
	f := newFixture(t)
	tokenOf := func(orderby string) string {
		p := decode[page](t, f.call(http.MethodGet, alertsPath+"?$top=1"+orderby, "", &fullAccess), http.StatusOK)
		u, _ := url.Parse(p.NextLink)
		return u.Query().Get("$skiptoken")
	}
	lastUpdateToken := tokenOf("&$orderby=lastUpdateDateTime")
	tests := []struct {
		name, query, msg string
	}{
		{"top above the maximum", "$top=51", "The limit of '50' for Top query has been exceeded. The value from the incoming request is '51'."},
		{"negative top", "$top=-1", "$top"},
		{"empty skip", "$skip=", "$skip"},
		{"unknown field", "$filter=" + url.QueryEscape("title eq 'x'"), `unknown field "title"`},
		{"bad status", "$filter=" + url.QueryEscape("status eq 'active'"), `"active" is not a valid alert status`},
		{"bad service source", "$filter=" + url.QueryEscape("serviceSource eq 'MicrosoftDefenderATP'"), "not a valid service source"},
		{"bad detection source", "$filter=" + url.QueryEscape("detectionSource eq 'microsoftCloudAppSecurity'"), "not a valid detection source"},
		{"incident determination spelling", "$filter=" + url.QueryEscape("determination eq 'clean'"), "alertDetermination"},
		{"unquoted incident id", "$filter=" + url.QueryEscape("incidentId eq 1000"), "incidentId"},
		{"range on an enum", "$filter=" + url.QueryEscape("severity gt 'low'"), "severity"},
		{"expand", "$expand=evidence", "'$expand' is not supported"},
		{"select", "$select=id", "'$select' is not supported"},
		{"orderby unknown field", "$orderby=severity", "Invalid $orderby"},
		{"orderby two keys", "$orderby=" + url.QueryEscape("createdDateTime,id"), "Invalid $orderby"},
		{"orderby bad direction", "$orderby=" + url.QueryEscape("createdDateTime up"), "Invalid $orderby"},
		{"bad count", "$count=yes", "Invalid $count"},
		{"garbage skiptoken", "$skiptoken=%%%", "malformed"},
		{"undecodable skiptoken", "$skiptoken=abc!", "$skiptoken is invalid"},
		{"incident skiptoken", "$skiptoken=" + position{created: refTime, id: 1000}.token(), "$skiptoken is invalid"},
		{"skiptoken of another order", "$skiptoken=" + lastUpdateToken, "$skiptoken is invalid"},
		{"repeated option", "$top=1&$top=2", "more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, f.call(http.MethodGet, alertsPath+"?"+tt.query, "", &fullAccess), http.StatusBadRequest, "BadRequest", tt.msg)
		})
	}
	if resp := f.call(http.MethodGet, alertsPath+"?$orderby=lastUpdateDateTime&$skiptoken="+lastUpdateToken, "", &fullAccess); resp.StatusCode != http.StatusOK {
		t.Errorf("the token with its own $orderby: status %d", resp.StatusCode)
	}
}

func TestListAlertsOnlyTheCallersTenantAndScope(t *testing.T) {
	f := newFixture(t)
	second := claims.Claims{TenantID: identity.SecondTenantID, AppID: identity.ClientID, Roles: []string{identity.GraphAlertRead}}
	alice := delegated(identity.AliceUPN, identity.HomeTenantID, identity.GraphAlertRead)
	tests := []struct {
		name string
		c    claims.Claims
		want []store.Alert
	}{
		{"second tenant app", second, f.sampleAlerts(identity.SecondTenantID, second)},
		{"delegated user sees her incidents' alerts", alice, f.sampleAlerts(identity.HomeTenantID, alice)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := f.listAlertIDs(alertsPath, &tt.c)
			if want := alertIDs(tt.want, func(store.Alert) bool { return true }); len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("got %d alerts, want %d", len(got), len(want))
			}
		})
	}
}

// TestSampleAlertsUseGraphMembers: every enum the sample alerts carry is a
// member Graph sends, so that a client's strict decoder accepts it.
func TestSampleAlertsUseGraphMembers(t *testing.T) {
	f := newFixture(t)
	for _, tenant := range f.store.Tenants() {
		for _, inc := range f.store.List(tenant) {
			for _, a := range inc.Alerts {
				_, err1 := parseServiceSource(string(a.ServiceSource))
				_, err2 := parseDetectionSource(string(a.DetectionSource))
				_, err3 := parseAlertStatus(string(a.Status))
				_, err4 := parseDetermination(string(a.Determination))
				if err := errors.Join(err1, err2, err3, err4); err != nil {
					t.Errorf("alert %s: %v", a.ID, err)
				}
			}
		}
	}
}
