package xdrapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// listAll pages with $skip until a short page and returns every id.
func (f *fixture) listAll(filter string, top int) []int64 {
	f.t.Helper()
	var got []int64
	for skip := 0; ; skip += top {
		q := url.Values{"$top": {strconv.Itoa(top)}, "$skip": {strconv.Itoa(skip)}}
		if filter != "" {
			q.Set("$filter", filter)
		}
		p := decode[page](f.t, f.call(http.MethodGet, "/api/incidents?"+q.Encode(), "", &fullAccess), http.StatusOK)
		if p.Context != "https://api.security.microsoft.com/api/$metadata#Incidents" || p.NextLink != nil {
			f.t.Fatalf("envelope: context %q, nextLink %v", p.Context, p.NextLink)
		}
		for _, inc := range p.Value {
			got = append(got, inc.IncidentID)
		}
		if len(p.Value) < top {
			return got
		}
	}
}

func TestListPagesWithSkip(t *testing.T) {
	f := newFixture(t)
	all := f.store.List(identity.HomeTenantID)
	cutoff := all[len(all)/2].LastUpdateTime
	everything := func(store.Incident) bool { return true }
	tests := []struct {
		name   string
		filter string
		top    int
		keep   func(store.Incident) bool
	}{
		{"max page", "", 100, everything},
		{"odd page", "", 37, everything},
		{"since cursor", "lastUpdateTime ge " + cutoff.Format(time.RFC3339Nano), 100, func(i store.Incident) bool { return !i.LastUpdateTime.Before(cutoff) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := f.listAll(tt.filter, tt.top), idsOf(all, tt.keep)
			if !slices.Equal(got, want) {
				t.Errorf("paged %d ids, want %d\ngot  %v\nwant %v", len(got), len(want), got, want)
			}
		})
	}
}

func TestListDefaultsAndAlerts(t *testing.T) {
	f := newFixture(t)
	all := f.store.List(identity.HomeTenantID)
	p := decode[page](t, f.call(http.MethodGet, "/api/incidents?tid="+identity.HomeTenantID, "", &fullAccess), http.StatusOK)
	if len(p.Value) != DefaultPageSize || p.Value[0].IncidentID != all[0].ID {
		t.Fatalf("default page: %d incidents starting at %d", len(p.Value), p.Value[0].IncidentID)
	}
	for i, inc := range p.Value {
		if len(inc.Alerts) != len(all[i].Alerts) {
			t.Errorf("incident %d: %d alerts, want %d (alerts are always included)", inc.IncidentID, len(inc.Alerts), len(all[i].Alerts))
		}
	}
}

func TestListFilters(t *testing.T) {
	f := newFixture(t)
	all := f.store.List(identity.HomeTenantID)
	mid := all[len(all)/3].CreatedTime
	isActive := func(i store.Incident) bool {
		return i.Status == store.StatusActive || i.Status == store.StatusAwaitingAction
	}
	tests := []struct {
		filter string
		keep   func(store.Incident) bool
	}{
		{"status eq Active", isActive},
		{"status eq 'active'", isActive},
		{"status eq 'InProgress' or status eq Redirected", func(i store.Incident) bool {
			return i.Status == store.StatusInProgress || i.Status == store.StatusRedirected
		}},
		{"status ne Resolved", func(i store.Incident) bool { return i.Status != store.StatusResolved }},
		{"assignedTo eq 'o''brien@contoso.com'", func(i store.Incident) bool { return i.AssignedTo == store.OBrienOwner }},
		{"assignedTo eq Automation", func(i store.Incident) bool { return i.AssignedTo == "Automation" }},
		{"assignedTo eq null and status eq Active", func(i store.Incident) bool { return i.AssignedTo == "" && isActive(i) }},
		{"createdTime lt " + mid.Format(time.RFC3339Nano), func(i store.Incident) bool { return i.CreatedTime.Before(mid) }},
		{"createdTime ge " + mid.Format(time.RFC3339Nano) + " and lastUpdateTime le " + refTime.Format(time.RFC3339), func(i store.Incident) bool {
			return !i.CreatedTime.Before(mid)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			want := idsOf(all, tt.keep)
			if len(want) == 0 {
				t.Fatal("filter matches no sample incident; the test proves nothing")
			}
			if got := f.listAll(tt.filter, 100); !slices.Equal(got, want) {
				t.Errorf("got %d ids, want %d", len(got), len(want))
			}
		})
	}
}

func TestListRejectsBadQueries(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		query, message string
	}{
		{"$top=101", "The limit of '100' for Top query has been exceeded"},
		{"$top=abc", "Invalid $top"},
		{"$skip=-1", "Invalid $skip"},
		{"$orderby=createdTime", "'$orderby' is not supported"},
		{"$expand=alerts", "'$expand' is not supported"},
		{"$skip=1&$skip=2", "more than once"},
		{"$filter=" + url.QueryEscape("severity eq High"), `unknown field "severity"`},
		{"$filter=" + url.QueryEscape("status eq Closed"), `invalid value for field "status"`},
		{"$filter=" + url.QueryEscape("lastUpdateTime ge '2024-01-01T00:00:00Z'"), "takes datetime values"},
		{"$filter=" + url.QueryEscape("lastUpdateTime ge 2024-01-01T00:00:00Z and"), "expected a field name"},
		{"$filter=" + url.QueryEscape("status gt Active"), `operator "gt" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			expectError(t, f.call(http.MethodGet, "/api/incidents?"+tt.query, "", &fullAccess), http.StatusBadRequest, "ODataError", tt.message)
		})
	}
}
