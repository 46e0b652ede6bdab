package store

import (
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

var refTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestNewIsDeterministic(t *testing.T) {
	a, b := New(refTime), New(refTime)
	for _, tenant := range a.Tenants() {
		if !reflect.DeepEqual(a.List(tenant), b.List(tenant)) {
			t.Errorf("tenant %s: two stores for the same time differ", tenant)
		}
	}
	other := New(refTime.Add(time.Hour))
	if got, want := other.List(identity.HomeTenantID)[0].CreatedTime, a.List(identity.HomeTenantID)[0].CreatedTime.Add(time.Hour); !got.Equal(want) {
		t.Errorf("shifting now by 1h: newest created %v, want %v", got, want)
	}
}

func TestSampleData(t *testing.T) {
	st := New(refTime)
	tests := []struct {
		tenant   string
		min, max int
		idFloor  int64
	}{
		{identity.HomeTenantID, 220, 260, 1000},
		{identity.SecondTenantID, 110, 150, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.tenant, func(t *testing.T) {
			list := st.List(tt.tenant)
			if len(list) < tt.min || len(list) > tt.max {
				t.Fatalf("%d incidents, want %d–%d", len(list), tt.min, tt.max)
			}
			ids := map[int64]bool{}
			for _, inc := range list {
				ids[inc.ID] = true
			}
			statuses, severities, digits := map[Status]int{}, map[Severity]int{}, map[int]bool{}
			ties := 0
			for i, inc := range list {
				checkIncident(t, inc, tt.tenant, tt.idFloor, ids)
				statuses[inc.Status]++
				severities[inc.Severity]++
				digits[fractionDigits(inc.CreatedTime)] = true
				if i > 0 {
					prev := list[i-1]
					switch c := prev.CreatedTime.Compare(inc.CreatedTime); {
					case c < 0, c == 0 && prev.ID < inc.ID:
						t.Errorf("order: %d (%v) before %d (%v)", prev.ID, prev.CreatedTime, inc.ID, inc.CreatedTime)
					case c == 0:
						ties++
					}
				}
			}
			for _, s := range Statuses {
				if statuses[s] == 0 {
					t.Errorf("no incident with status %s", s)
				}
			}
			if statuses[StatusActive] <= len(list)/3 {
				t.Errorf("only %d active incidents of %d; want mostly active", statuses[StatusActive], len(list))
			}
			for _, s := range Severities {
				if severities[s] == 0 {
					t.Errorf("no incident with severity %s", s)
				}
			}
			if len(digits) < 6 {
				t.Errorf("created times use %d distinct fractional precisions, want ≥ 6", len(digits))
			}
			if ties == 0 {
				t.Error("no two incidents share a creation time; ordering ties are untested")
			}
		})
	}
}

func checkIncident(t *testing.T, inc Incident, tenant string, idFloor int64, ids map[int64]bool) {
	t.Helper()
	oldest := refTime.Add(-sampleWindow)
	switch {
	case inc.TenantID != tenant || inc.ID < idFloor:
		t.Errorf("incident %d: tenant %s, id below %d", inc.ID, inc.TenantID, idFloor)
	case inc.CreatedTime.Before(oldest) || !inc.CreatedTime.Before(refTime):
		t.Errorf("incident %d: created %v outside the sample window", inc.ID, inc.CreatedTime)
	case inc.LastUpdateTime.Before(inc.CreatedTime) || inc.LastUpdateTime.After(refTime):
		t.Errorf("incident %d: last update %v not in [created, now]", inc.ID, inc.LastUpdateTime)
	case len(inc.Alerts) < 1 || len(inc.Alerts) > 4:
		t.Errorf("incident %d: %d alerts", inc.ID, len(inc.Alerts))
	case inc.DisplayName == "" || inc.WebURL == "":
		t.Errorf("incident %d: missing display name or web URL", inc.ID)
	case (inc.Status == StatusRedirected) != (inc.RedirectIncidentID != 0):
		t.Errorf("incident %d: status %s with redirect id %d", inc.ID, inc.Status, inc.RedirectIncidentID)
	case inc.RedirectIncidentID != 0 && (!ids[inc.RedirectIncidentID] || inc.RedirectIncidentID <= inc.ID):
		t.Errorf("incident %d redirects to %d, not a later incident of the tenant", inc.ID, inc.RedirectIncidentID)
	case !consistent(inc.Classification, inc.Determination):
		t.Errorf("incident %d: inconsistent %s/%s", inc.ID, inc.Classification, inc.Determination)
	}
	for _, a := range inc.Alerts {
		if a.IncidentID != inc.ID || len(a.Evidence) == 0 || a.ID == "" {
			t.Errorf("incident %d: alert %q has incident %d and %d evidence", inc.ID, a.ID, a.IncidentID, len(a.Evidence))
		}
		for _, e := range a.Evidence {
			set := map[EvidenceKind]bool{
				EvidenceDevice: e.Device != nil, EvidenceFile: e.File != nil, EvidenceProcess: e.Process != nil,
				EvidenceUser: e.User != nil, EvidenceIP: e.IPAddress != "", EvidenceURL: e.URL != "", EvidenceMailbox: e.Mailbox != nil,
			}
			if !set[e.Kind] {
				t.Errorf("alert %s: %s evidence without its details", a.ID, e.Kind)
			}
		}
	}
}

func consistent(c Classification, d Determination) bool {
	if c == ClassificationTruePositive && (d == DeterminationApt || d == DeterminationSecurityPersonnel) {
		return true
	}
	return slices.Contains(DeterminationsFor(c), d)
}

func fractionDigits(t time.Time) int {
	n := t.Nanosecond()
	if n == 0 {
		return 0
	}
	d := 9
	for n%10 == 0 {
		n /= 10
		d--
	}
	return d
}

func TestSampleDataCoverage(t *testing.T) {
	st := New(refTime)
	home := st.List(identity.HomeTenantID)
	obrien, unassigned := 0, 0
	kinds := map[EvidenceKind]bool{}
	classifications := map[Classification]bool{}
	for _, inc := range home {
		switch inc.AssignedTo {
		case OBrienOwner:
			obrien++
		case "":
			unassigned++
		}
		classifications[inc.Classification] = true
		for _, a := range inc.Alerts {
			for _, e := range a.Evidence {
				kinds[e.Kind] = true
			}
		}
	}
	if obrien < 3 || unassigned < 3 {
		t.Errorf("%d incidents assigned to %s and %d unassigned; want several of each", obrien, OBrienOwner, unassigned)
	}
	for _, k := range []EvidenceKind{EvidenceDevice, EvidenceFile, EvidenceProcess, EvidenceUser, EvidenceIP, EvidenceURL, EvidenceMailbox} {
		if !kinds[k] {
			t.Errorf("no %s evidence", k)
		}
	}
	for _, c := range Classifications {
		if !classifications[c] {
			t.Errorf("no %s incident", c)
		}
	}
	second := st.List(identity.SecondTenantID)
	for _, inc := range second {
		if inc.AssignedTo == OBrienOwner {
			t.Fatalf("second tenant incident %d is assigned to the home tenant's %s", inc.ID, OBrienOwner)
		}
	}
	if _, err := st.Get(identity.SecondTenantID, home[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("home incident %d visible in the second tenant: %v", home[0].ID, err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestUpdate(t *testing.T) {
	st := New(refTime)
	st.clock = func() time.Time { return refTime.Add(-48 * time.Hour) } // a clock behind the data
	inc := st.List(identity.HomeTenantID)[10]
	floor := newestGenerated(st).Add(time.Millisecond)

	tags := []string{"Escalated"}
	got, err := st.Update(identity.HomeTenantID, inc.ID, Patch{
		Status: ptr(StatusResolved), AssignedTo: ptr(OBrienOwner),
		Classification: ptr(ClassificationTruePositive), Determination: ptr(DeterminationMalware),
		CustomTags: &tags, Comment: "done", Author: "analyst@contoso.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	tags[0] = "mutated after the call"
	want := inc
	want.Status, want.AssignedTo = StatusResolved, OBrienOwner
	want.Classification, want.Determination = ClassificationTruePositive, DeterminationMalware
	want.CustomTags = []string{"Escalated"}
	want.LastModifiedBy = "analyst@contoso.com"
	want.LastUpdateTime = floor
	want.Comments = append(slices.Clone(inc.Comments), Comment{Text: "done", Author: "analyst@contoso.com", CreatedTime: floor})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Update returned\n%+v\nwant\n%+v", got, want)
	}
	stored, _ := st.Get(identity.HomeTenantID, inc.ID)
	if !reflect.DeepEqual(stored, want) {
		t.Errorf("stored incident differs from the returned one")
	}

	second, err := st.AddComment(identity.HomeTenantID, inc.ID, "again", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !second.LastUpdateTime.After(floor) || len(second.Comments) != len(want.Comments)+1 {
		t.Errorf("second mutation: last update %v (first %v), %d comments", second.LastUpdateTime, floor, len(second.Comments))
	}
}

func TestUpdateUsesWallClock(t *testing.T) {
	st := New(refTime)
	wall := refTime.Add(time.Hour + 123456789)
	st.clock = func() time.Time { return wall }
	got, err := st.Update(identity.SecondTenantID, st.List(identity.SecondTenantID)[0].ID, Patch{AssignedTo: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if want := wall.Truncate(timePrecision); !got.LastUpdateTime.Equal(want) || got.AssignedTo != "" {
		t.Errorf("last update %v, assigned %q; want %v, unassigned", got.LastUpdateTime, got.AssignedTo, want)
	}
}

func TestUpdateErrors(t *testing.T) {
	st := New(refTime)
	id := st.List(identity.HomeTenantID)[0].ID
	tests := []struct {
		name   string
		tenant string
		id     int64
		patch  Patch
		want   error
	}{
		{"unknown id", identity.HomeTenantID, 1, Patch{Status: ptr(StatusActive)}, ErrNotFound},
		{"unknown tenant", "00000000-0000-0000-0000-000000000000", id, Patch{}, ErrNotFound},
		{"bad status", identity.HomeTenantID, id, Patch{Status: ptr(Status("closed"))}, ErrInvalidPatch},
		{"bad classification", identity.HomeTenantID, id, Patch{Classification: ptr(Classification("maybe"))}, ErrInvalidPatch},
		{"bad determination", identity.HomeTenantID, id, Patch{Determination: ptr(Determination("aliens"))}, ErrInvalidPatch},
	}
	before := st.List(identity.HomeTenantID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := st.Update(tt.tenant, tt.id, tt.patch); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := st.AddComment(identity.HomeTenantID, id, "", "x"); !errors.Is(err, ErrInvalidPatch) {
		t.Errorf("empty comment: err = %v", err)
	}
	if !reflect.DeepEqual(before, st.List(identity.HomeTenantID)) {
		t.Error("rejected updates changed the data")
	}
}

func TestReadsReturnCopies(t *testing.T) {
	st := New(refTime)
	inc := st.List(identity.HomeTenantID)[0]
	inc.Alerts[0].Evidence[0].CreatedTime = time.Time{}
	inc.Alerts[0].MitreTechniques = append(inc.Alerts[0].MitreTechniques, "T0000")
	inc.CustomTags = append(inc.CustomTags, "leak")
	again, _ := st.Get(identity.HomeTenantID, inc.ID)
	if again.Alerts[0].Evidence[0].CreatedTime.IsZero() || slices.Contains(again.CustomTags, "leak") || slices.Contains(again.Alerts[0].MitreTechniques, "T0000") {
		t.Error("modifying a returned incident changed the store")
	}
}

func TestConcurrentMutations(t *testing.T) {
	st := New(refTime)
	id := st.List(identity.HomeTenantID)[0].ID
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := st.AddComment(identity.HomeTenantID, id, "c", "a"); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			_ = st.List(identity.HomeTenantID)
			_, _ = st.Get(identity.HomeTenantID, id+int64(i))
		}()
	}
	wg.Wait()
	inc, _ := st.Get(identity.HomeTenantID, id)
	orig := New(refTime)
	base, _ := orig.Get(identity.HomeTenantID, id)
	if len(inc.Comments) != len(base.Comments)+20 {
		t.Errorf("%d comments after 20 concurrent additions to %d", len(inc.Comments), len(base.Comments))
	}
	for i := len(base.Comments) + 1; i < len(inc.Comments); i++ {
		if !inc.Comments[i].CreatedTime.After(inc.Comments[i-1].CreatedTime) {
			t.Fatalf("comment stamps not strictly increasing: %v then %v", inc.Comments[i-1].CreatedTime, inc.Comments[i].CreatedTime)
		}
	}
}

func newestGenerated(st *Store) time.Time {
	var newest time.Time
	for _, tenant := range st.Tenants() {
		for _, inc := range st.List(tenant) {
			newest = maxTime(newest, newestTime(&inc))
		}
	}
	return newest
}
