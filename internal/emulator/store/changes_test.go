package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// fakeWall sets st's wall clock to a time the test moves.
func fakeWall(st *Store, start time.Time) *time.Time {
	wall := start
	st.clock = func() time.Time { return wall }
	return &wall
}

// alertIDs returns every alert id of tenant and fails on a duplicate.
func alertIDs(t *testing.T, st *Store, tenant string) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	for _, inc := range st.List(tenant) {
		for _, a := range inc.Alerts {
			if other, dup := ids[a.ID]; dup {
				t.Fatalf("alert %s in incidents %d and %d", a.ID, other, inc.ID)
			}
			ids[a.ID] = inc.ID
		}
	}
	return ids
}

func maxID(st *Store, tenant string) int64 {
	var id int64
	for _, inc := range st.List(tenant) {
		id = max(id, inc.ID)
	}
	return id
}

func TestCreate(t *testing.T) {
	tests := []struct {
		name       string
		tenant     string
		n          NewIncident
		wantTitle  string // "" = generated from the alerts
		wantSev    Severity
		wantAlerts int
	}{
		{"defaults", identity.HomeTenantID, NewIncident{}, "", SeverityMedium, 1},
		{"all fields", identity.HomeTenantID,
			NewIncident{Title: "Ransomware on the finance share", Severity: SeverityHigh, AssignedTo: OBrienOwner, Alerts: 3},
			"Ransomware on the finance share", SeverityHigh, 3},
		{"second tenant, many alerts", identity.SecondTenantID, NewIncident{Severity: SeverityLow, Alerts: maxNewAlerts}, "", SeverityLow, maxNewAlerts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := New(refTime)
			wall := fakeWall(st, refTime.Add(time.Hour+1234567))
			wantID := maxID(st, tt.tenant) + 1
			before := st.List(tt.tenant)
			got, err := st.Create(tt.tenant, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			stamp := wall.Truncate(timePrecision)
			switch {
			case got.ID != wantID || got.TenantID != tt.tenant:
				t.Errorf("id %d in %s, want %d in %s", got.ID, got.TenantID, wantID, tt.tenant)
			case got.Status != StatusActive || got.Classification != ClassificationUnknown || got.Determination != DeterminationUnknown:
				t.Errorf("status %s, %s/%s; want active, unclassified", got.Status, got.Classification, got.Determination)
			case !got.CreatedTime.Equal(stamp) || !got.LastUpdateTime.Equal(stamp):
				t.Errorf("created %v, last update %v; want both %v", got.CreatedTime, got.LastUpdateTime, stamp)
			case got.Severity != tt.wantSev || got.AssignedTo != tt.n.AssignedTo || len(got.Alerts) != tt.wantAlerts:
				t.Errorf("severity %s, assigned %q, %d alerts", got.Severity, got.AssignedTo, len(got.Alerts))
			case tt.wantTitle != "" && got.DisplayName != tt.wantTitle:
				t.Errorf("display name %q, want %q", got.DisplayName, tt.wantTitle)
			case got.DisplayName == "" || got.RedirectIncidentID != 0 || len(got.Comments) != 0:
				t.Errorf("display name %q, redirect %d, %d comments", got.DisplayName, got.RedirectIncidentID, len(got.Comments))
			}
			for _, a := range got.Alerts {
				if a.Severity != tt.wantSev || a.Status != AlertStatusNew || a.AssignedTo != tt.n.AssignedTo || a.Title == "" {
					t.Errorf("alert %s: severity %s, status %s, assigned %q, title %q", a.ID, a.Severity, a.Status, a.AssignedTo, a.Title)
				}
			}
			ids := map[int64]bool{}
			for _, inc := range before {
				ids[inc.ID] = true
			}
			checkCreated(t, got, tt.tenant, ids)
			list := st.List(tt.tenant)
			if len(list) != len(before)+1 || !reflect.DeepEqual(list[0], got) || !reflect.DeepEqual(list[1:], before) {
				t.Errorf("the new incident is not listed first, before the unchanged others")
			}
			if stored, err := st.Get(tt.tenant, got.ID); err != nil || !reflect.DeepEqual(stored, got) {
				t.Errorf("Get: %v", err)
			}
			alertIDs(t, st, tt.tenant)

			*wall = wall.Add(time.Second)
			next, err := st.Create(tt.tenant, tt.n)
			if err != nil || next.ID != got.ID+1 || !next.CreatedTime.After(got.CreatedTime) {
				t.Errorf("second Create: id %d created %v (%v); want %d, later", next.ID, next.CreatedTime, err, got.ID+1)
			}
			alertIDs(t, st, tt.tenant)
		})
	}
}

// checkCreated runs the sample data's checks that hold for a new incident.
func checkCreated(t *testing.T, inc Incident, tenant string, ids map[int64]bool) {
	t.Helper()
	for _, a := range inc.Alerts {
		if a.IncidentID != inc.ID || len(a.Evidence) == 0 || a.ID == "" || a.ProviderAlertID != a.ID {
			t.Errorf("alert %q: incident %d, %d evidence", a.ID, a.IncidentID, len(a.Evidence))
		}
		if a.CreatedTime.Before(inc.CreatedTime) || a.FirstActivity.After(a.CreatedTime) {
			t.Errorf("alert %s: created %v, first activity %v, incident created %v", a.ID, a.CreatedTime, a.FirstActivity, inc.CreatedTime)
		}
	}
	if ids[inc.ID] || inc.WebURL == "" || inc.TenantID != tenant {
		t.Errorf("incident %d: id taken, or no web URL", inc.ID)
	}
}

func TestCreateErrors(t *testing.T) {
	tests := []struct {
		name   string
		tenant string
		n      NewIncident
		want   error
	}{
		{"unknown tenant", "00000000-0000-0000-0000-000000000000", NewIncident{}, ErrNotFound},
		{"bad severity", identity.HomeTenantID, NewIncident{Severity: "critical"}, ErrInvalidPatch},
		{"too many alerts", identity.HomeTenantID, NewIncident{Alerts: maxNewAlerts + 1}, ErrInvalidPatch},
		{"negative alerts", identity.HomeTenantID, NewIncident{Alerts: -1}, ErrInvalidPatch},
	}
	st := New(refTime)
	before := st.List(identity.HomeTenantID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := st.Create(tt.tenant, tt.n); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if !reflect.DeepEqual(before, st.List(identity.HomeTenantID)) {
		t.Error("rejected creations changed the data")
	}
}

// openPair returns two incidents of tenant that are not redirected, and one
// that is.
func openPair(t *testing.T, st *Store, tenant string) (a, b, redirected Incident) {
	t.Helper()
	var open []Incident
	for _, inc := range st.List(tenant) {
		if inc.Status == StatusRedirected {
			redirected = inc
		} else if len(inc.Alerts) > 0 {
			open = append(open, inc)
		}
	}
	if len(open) < 2 || redirected.ID == 0 {
		t.Fatalf("sample data of %s lacks two open incidents and a redirected one", tenant)
	}
	return open[3], open[0], redirected
}

func TestRedirect(t *testing.T) {
	st := New(refTime)
	wall := fakeWall(st, refTime.Add(2*time.Hour+55))
	src, dst, _ := openPair(t, st, identity.HomeTenantID)
	redirected, merged, err := st.Redirect(identity.HomeTenantID, src.ID, dst.ID)
	if err != nil {
		t.Fatal(err)
	}
	stamp := wall.Truncate(timePrecision)

	wantSrc := src
	wantSrc.Status, wantSrc.RedirectIncidentID, wantSrc.LastUpdateTime = StatusRedirected, dst.ID, stamp
	wantSrc.Alerts = []Alert{}
	wantDst := dst
	wantDst.LastUpdateTime = stamp
	for _, a := range src.Alerts {
		a.IncidentID, a.LastUpdateTime = dst.ID, stamp
		wantDst.Alerts = append(wantDst.Alerts, a)
	}
	if !reflect.DeepEqual(redirected, wantSrc) {
		t.Errorf("redirected incident\n%+v\nwant\n%+v", redirected, wantSrc)
	}
	if !reflect.DeepEqual(merged, wantDst) {
		t.Errorf("target incident\n%+v\nwant\n%+v", merged, wantDst)
	}
	for _, want := range []Incident{wantSrc, wantDst} {
		if got, _ := st.Get(identity.HomeTenantID, want.ID); !reflect.DeepEqual(got, want) {
			t.Errorf("stored incident %d differs from the returned one", want.ID)
		}
	}
	if owner := alertIDs(t, st, identity.HomeTenantID); len(src.Alerts) == 0 || owner[src.Alerts[0].ID] != dst.ID {
		t.Errorf("alert %s belongs to %d, want %d", src.Alerts[0].ID, owner[src.Alerts[0].ID], dst.ID)
	}
}

func TestRedirectErrors(t *testing.T) {
	st := New(refTime)
	a, b, redirected := openPair(t, st, identity.HomeTenantID)
	tests := []struct {
		name       string
		tenant     string
		id, target int64
		want       error
	}{
		{"unknown tenant", "00000000-0000-0000-0000-000000000000", a.ID, b.ID, ErrNotFound},
		{"unknown id", identity.HomeTenantID, 1, b.ID, ErrNotFound},
		{"unknown target", identity.HomeTenantID, a.ID, 1, ErrNotFound},
		{"target in another tenant", identity.HomeTenantID, a.ID, st.List(identity.SecondTenantID)[0].ID, ErrNotFound},
		{"itself", identity.HomeTenantID, a.ID, a.ID, ErrInvalidPatch},
		{"target redirected", identity.HomeTenantID, a.ID, redirected.ID, ErrInvalidPatch},
		{"source redirected", identity.HomeTenantID, redirected.ID, a.ID, ErrInvalidPatch},
	}
	before := st.List(identity.HomeTenantID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := st.Redirect(tt.tenant, tt.id, tt.target); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if !reflect.DeepEqual(before, st.List(identity.HomeTenantID)) {
		t.Error("rejected redirects changed the data")
	}
}
