package graphapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

func ids(list []store.Incident, keep func(store.Incident) bool) []string {
	var out []string
	for _, inc := range list {
		if keep(inc) {
			out = append(out, strconv.FormatInt(inc.ID, 10))
		}
	}
	return out
}

// listAll follows nextLinks from target and returns every id in order.
func (f *fixture) listAll(target string, wantPageSize int) []string {
	f.t.Helper()
	var got []string
	for pages := 0; target != ""; pages++ {
		if pages > 100 {
			f.t.Fatal("more than 100 pages: nextLink loop?")
		}
		p := decode[page](f.t, f.call(http.MethodGet, target, "", &fullAccess), http.StatusOK)
		for _, inc := range incidents(f.t, p.Value) {
			got = append(got, inc.ID)
		}
		if p.NextLink != "" && len(p.Value) != wantPageSize {
			f.t.Errorf("page %d holds %d incidents but has a nextLink; want %d", pages, len(p.Value), wantPageSize)
		}
		target = ""
		if p.NextLink != "" {
			u, err := url.Parse(p.NextLink)
			if err != nil || u.Scheme != "https" || u.Host != "graph.test:8443" || u.Path != incidentsPath {
				f.t.Fatalf("nextLink %q is not an absolute https URL on the request host", p.NextLink)
			}
			target = u.RequestURI()
		}
	}
	return got
}

func TestListPagesThroughAllIncidents(t *testing.T) {
	f := newFixture(t)
	all := f.store.List(identity.HomeTenantID)
	cutoff := all[len(all)/2].LastUpdateTime
	tests := []struct {
		name     string
		query    string
		pageSize int
		keep     func(store.Incident) bool
	}{
		{"default page size", "", DefaultPageSize, func(store.Incident) bool { return true }},
		{"top 7", "?$top=7", 7, func(store.Incident) bool { return true }},
		{"top 50 with filter and expand", "?$top=50&$expand=alerts&$filter=lastUpdateDateTime+ge+" + cutoff.Format(time.RFC3339Nano),
			50, func(i store.Incident) bool { return !i.LastUpdateTime.Before(cutoff) }},
		{"skip then pages", "?$top=20&$skip=5", 20, func(store.Incident) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := ids(all, tt.keep)
			if strings.Contains(tt.query, "$skip=5") {
				want = want[5:]
			}
			got := f.listAll(incidentsPath+tt.query, tt.pageSize)
			if !slices.Equal(got, want) {
				t.Errorf("paged ids (%d) differ from the store's order (%d)\ngot  %v\nwant %v", len(got), len(want), got, want)
			}
		})
	}
}

func TestPagingIsStableUnderUpdates(t *testing.T) {
	f := newFixture(t)
	first := decode[page](t, f.call(http.MethodGet, incidentsPath+"?$top=10", "", &fullAccess), http.StatusOK)
	// An update between pages must not shift later pages.
	inc := incidents(t, first.Value)[3]
	resp := f.call(http.MethodPatch, incidentsPath+"/"+inc.ID, `{"status":"resolved"}`, &fullAccess)
	decode[map[string]any](t, resp, http.StatusOK)
	u, _ := url.Parse(first.NextLink)
	second := decode[page](t, f.call(http.MethodGet, u.RequestURI(), "", &fullAccess), http.StatusOK)
	want := ids(f.store.List(identity.HomeTenantID), func(store.Incident) bool { return true })[10:20]
	var got []string
	for _, i := range incidents(t, second.Value) {
		got = append(got, i.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("second page %v, want %v", got, want)
	}
}

func TestListFilters(t *testing.T) {
	f := newFixture(t)
	all := f.store.List(identity.HomeTenantID)
	mid := all[len(all)/3].CreatedTime
	tests := []struct {
		filter string
		keep   func(store.Incident) bool
	}{
		{"assignedTo eq 'o''brien@contoso.com'", func(i store.Incident) bool { return i.AssignedTo == store.OBrienOwner }},
		{"assignedTo eq 'O''BRIEN@CONTOSO.COM'", func(i store.Incident) bool { return i.AssignedTo == store.OBrienOwner }},
		{"assignedTo eq null", func(i store.Incident) bool { return i.AssignedTo == "" }},
		{"status eq 'Active'", func(i store.Incident) bool { return i.Status == store.StatusActive }},
		{"status eq 'awaitingAction'", func(i store.Incident) bool { return i.Status == store.StatusAwaitingAction }},
		{"status ne 'active' and severity eq 'HIGH'", func(i store.Incident) bool {
			return i.Status != store.StatusActive && i.Severity == store.SeverityHigh
		}},
		{"severity eq 'informational' or severity eq 'unknown'", func(i store.Incident) bool {
			return i.Severity == store.SeverityInformational || i.Severity == store.SeverityUnknown
		}},
		{"classification eq 'truePositive' and determination eq 'compromisedAccount'", func(i store.Incident) bool {
			return i.Classification == store.ClassificationTruePositive && i.Determination == store.DeterminationCompromisedAccount
		}},
		{"determination eq 'notEnoughDataToValidate'", func(i store.Incident) bool { return i.Determination == store.DeterminationNotEnoughDataToValidate }},
		{"createdDateTime lt " + mid.Format(time.RFC3339Nano), func(i store.Incident) bool { return i.CreatedTime.Before(mid) }},
		{"not (createdDateTime ge " + mid.Format(time.RFC3339Nano) + ")", func(i store.Incident) bool { return i.CreatedTime.Before(mid) }},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			want := ids(all, tt.keep)
			if len(want) == 0 {
				t.Fatal("filter matches no sample incident; the test proves nothing")
			}
			got := f.listAll(incidentsPath+"?$filter="+url.QueryEscape(tt.filter), DefaultPageSize)
			if !slices.Equal(got, want) {
				t.Errorf("got %d ids, want %d\ngot  %v\nwant %v", len(got), len(want), got, want)
			}
		})
	}
}

func TestListCountAndExpand(t *testing.T) {
	f := newFixture(t)
	all := f.store.List(identity.HomeTenantID)
	p := decode[page](t, f.call(http.MethodGet, incidentsPath+"?$count=true&$top=3&$expand=alerts", "", &fullAccess), http.StatusOK)
	if p.Count == nil || *p.Count != len(all) {
		t.Errorf("@odata.count = %v, want %d", p.Count, len(all))
	}
	if !strings.HasPrefix(p.Context, "https://graph.test:8443/v1.0/$metadata#security/incidents") {
		t.Errorf("@odata.context = %q", p.Context)
	}
	next, _ := url.Parse(p.NextLink)
	if q := next.Query(); q.Get("$count") != "true" || q.Get("$top") != "3" || q.Get("$expand") != "alerts" || q.Get("$skiptoken") == "" {
		t.Errorf("nextLink %q does not carry the request's options and a $skiptoken", p.NextLink)
	}
	for i, inc := range incidents(t, p.Value) {
		if len(inc.Alerts) != len(all[i].Alerts) || inc.Alerts[0].IncidentID != inc.ID {
			t.Errorf("incident %s: %d expanded alerts, want %d", inc.ID, len(inc.Alerts), len(all[i].Alerts))
		}
	}
	plain := decode[page](t, f.call(http.MethodGet, incidentsPath+"?$top=3", "", &fullAccess), http.StatusOK)
	if plain.Count != nil || strings.Contains(string(plain.Value[0]), `"alerts"`) {
		t.Errorf("without $count/$expand the page has a count or alerts: %s", plain.Value[0])
	}
}

func TestListRejectsBadQueries(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		query, message string
	}{
		{"$top=51", "The limit of '50' for Top query has been exceeded"},
		{"$top=-1", "Invalid $top"},
		{"$skip=x", "Invalid $skip"},
		{"$orderby=createdDateTime", "Query option '$orderby' is not supported"},
		{"$select=id", "Query option '$select' is not supported"},
		{"foo=bar", "Query option 'foo' is not supported"},
		{"$top=1&$top=2", "more than once"},
		{"$filter=" + url.QueryEscape("title eq 'x'"), `unknown field "title"`},
		{"$filter=" + url.QueryEscape("status eq active"), "takes quoted string values, not bare identifier"},
		{"$filter=" + url.QueryEscape("status eq 'closed'"), `"closed" is not a valid status`},
		{"$filter=" + url.QueryEscape("determination eq 'clean'"), `"clean" is not a valid determination`},
		{"$filter=" + url.QueryEscape("severity gt 'low'"), `operator "gt" is not supported`},
		{"$filter=" + url.QueryEscape("createdDateTime ge '2024-01-01'"), "takes datetime values"},
		{"$filter=" + url.QueryEscape("(status eq 'active'"), "expected ')'"},
		{"$expand=comments", "only 'alerts' can be expanded"},
		{"$count=yes", "Invalid $count"},
		{"$skiptoken=not-a-token", "$skiptoken is invalid"},
		{"$filter=%zz", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			expectError(t, f.call(http.MethodGet, incidentsPath+"?"+tt.query, "", &fullAccess), http.StatusBadRequest, "BadRequest", tt.message)
		})
	}
}

func TestListIsTenantScoped(t *testing.T) {
	f := newFixture(t)
	second := fullAccess
	second.TenantID = identity.SecondTenantID
	p := decode[page](t, f.call(http.MethodGet, incidentsPath+"?$count=true&$top=5", "", &second), http.StatusOK)
	if p.Count == nil || *p.Count != len(f.store.List(identity.SecondTenantID)) {
		t.Fatalf("count %v for the second tenant", p.Count)
	}
	for _, inc := range incidents(t, p.Value) {
		if inc.TenantID != identity.SecondTenantID {
			t.Errorf("incident %s of tenant %s listed for the second tenant", inc.ID, inc.TenantID)
		}
	}
}
