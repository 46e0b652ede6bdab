package store

import (
	"errors"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestSampleAlertExtras(t *testing.T) {
	st := New(refTime)
	for _, tenant := range st.Tenants() {
		var alerts, commented, tagged int
		statuses := map[AlertStatus]int{}
		services := map[ServiceSource]bool{}
		for _, inc := range st.List(tenant) {
			for _, a := range inc.Alerts {
				alerts++
				statuses[a.Status]++
				services[a.ServiceSource] = true
				if a.Comments == nil || a.SystemTags == nil || a.MitreTechniques == nil {
					t.Fatalf("alert %s has a nil list", a.ID)
				}
				if len(a.Comments) > 0 {
					commented++
				}
				if len(a.SystemTags) > 0 {
					tagged++
				}
				for i, c := range a.Comments {
					if c.Text == "" || c.Author == "" || c.CreatedTime.Before(a.CreatedTime) || c.CreatedTime.After(a.LastUpdateTime) ||
						(i > 0 && c.CreatedTime.Before(a.Comments[i-1].CreatedTime)) {
						t.Errorf("alert %s comment %d %+v: want text, author, a time in [created, last update], oldest first", a.ID, i, c)
					}
				}
				if (a.Status == AlertStatusResolved) != !a.ResolvedTime.IsZero() {
					t.Errorf("alert %s: status %s, resolved %v", a.ID, a.Status, a.ResolvedTime)
				}
				if a.DetectorID == "" || a.RecommendedActions == "" || a.FirstActivity.After(a.LastActivity) || a.IncidentID != inc.ID {
					t.Errorf("alert %s lacks an alerts_v2 field: %+v", a.ID, a)
				}
			}
		}
		if commented < alerts/8 || commented > alerts/2 || tagged == 0 || len(services) < 3 {
			t.Errorf("tenant %s: %d alerts, %d with comments, %d with system tags, %d services", tenant, alerts, commented, tagged, len(services))
		}
		for _, s := range AlertStatuses {
			if statuses[s] == 0 {
				t.Errorf("tenant %s: no %s alert", tenant, s)
			}
		}
	}
}

// openAlert returns a home-tenant alert with status new and an unknown
// classification, and its incident.
func openAlert(t *testing.T, st *Store) (Alert, Incident) {
	t.Helper()
	for _, inc := range st.List(identity.HomeTenantID) {
		for _, a := range inc.Alerts {
			if a.Status == AlertStatusNew && a.Classification == ClassificationUnknown && len(inc.Alerts) > 1 {
				return a, inc
			}
		}
	}
	t.Fatal("no open alert")
	return Alert{}, Incident{}
}

func TestUpdateAlert(t *testing.T) {
	st := New(refTime)
	wall := fakeWall(st, refTime.Add(time.Hour))
	a, inc := openAlert(t, st)
	resolved, tp, malware, owner := AlertStatusResolved, ClassificationTruePositive, DeterminationMalware, "secops@contoso.com"
	got, gotInc, err := st.UpdateAlert(identity.HomeTenantID, a.ID, AlertPatch{
		Status: &resolved, Classification: &tp, Determination: &malware, AssignedTo: &owner, Comment: "done", Author: "me",
	})
	if err != nil {
		t.Fatal(err)
	}
	stamp := *wall
	if got.Status != resolved || !got.ResolvedTime.Equal(stamp) || !got.LastUpdateTime.Equal(stamp) ||
		got.Classification != tp || got.Determination != malware || got.AssignedTo != owner ||
		len(got.Comments) != len(a.Comments)+1 || got.Comments[len(got.Comments)-1] != (Comment{Text: "done", Author: "me", CreatedTime: stamp}) {
		t.Errorf("updated alert %+v", got)
	}
	// Only the alert changed in its incident, which carries the new stamp.
	if !gotInc.LastUpdateTime.Equal(stamp) || gotInc.Status != inc.Status || gotInc.Classification != inc.Classification || len(gotInc.Comments) != len(inc.Comments) {
		t.Errorf("incident after the alert update %+v", gotInc)
	}
	stored, _ := st.Get(identity.HomeTenantID, inc.ID)
	for i, sa := range stored.Alerts {
		if sa.ID == a.ID && sa.Status != resolved {
			t.Errorf("the incident's embedded alert %d was not updated", i)
		}
		if sa.ID != a.ID && !sa.LastUpdateTime.Equal(inc.Alerts[i].LastUpdateTime) {
			t.Errorf("sibling alert %s changed", sa.ID)
		}
	}
	// Reopening clears the resolved time.
	*wall = wall.Add(time.Minute)
	reopened := AlertStatusInProgress
	got, _, err = st.UpdateAlert(identity.HomeTenantID, a.ID, AlertPatch{Status: &reopened})
	if err != nil || !got.ResolvedTime.IsZero() || got.Status != reopened || !got.LastUpdateTime.After(stamp) {
		t.Errorf("reopened alert %+v, %v", got, err)
	}
	// A determination alone is checked against the current classification.
	phishing := DeterminationPhishing
	if got, _, err = st.UpdateAlert(identity.HomeTenantID, a.ID, AlertPatch{Determination: &phishing}); err != nil || got.Determination != phishing {
		t.Errorf("determination alone with truePositive: %+v, %v", got, err)
	}
}

func TestUpdateAlertErrors(t *testing.T) {
	st := New(refTime)
	a, _ := openAlert(t, st)
	second := st.List(identity.SecondTenantID)[0].Alerts[0]
	bad, fp, malware, apt, tp := AlertStatus("active"), ClassificationFalsePositive, DeterminationMalware, DeterminationApt, ClassificationTruePositive
	unknownC := Classification("benign")
	tests := []struct {
		name, tenant, id string
		p                AlertPatch
		want             error
	}{
		{"unknown id", identity.HomeTenantID, "nope", AlertPatch{}, ErrNotFound},
		{"empty id", identity.HomeTenantID, "", AlertPatch{}, ErrNotFound},
		{"other tenant's alert", identity.HomeTenantID, second.ID, AlertPatch{}, ErrNotFound},
		{"unknown tenant", "nope", a.ID, AlertPatch{}, ErrNotFound},
		{"incident status", identity.HomeTenantID, a.ID, AlertPatch{Status: &bad}, ErrInvalidPatch},
		{"unknown classification", identity.HomeTenantID, a.ID, AlertPatch{Classification: &unknownC}, ErrInvalidPatch},
		{"undocumented pair", identity.HomeTenantID, a.ID, AlertPatch{Classification: &fp, Determination: &malware}, ErrInvalidPatch},
		{"determination with the alert's unknown classification", identity.HomeTenantID, a.ID, AlertPatch{Determination: &malware}, ErrInvalidPatch},
		{"deprecated determination", identity.HomeTenantID, a.ID, AlertPatch{Classification: &tp, Determination: &apt}, ErrInvalidPatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := st.List(identity.HomeTenantID)
			if _, _, err := st.UpdateAlert(tt.tenant, tt.id, tt.p); !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
			after := st.List(identity.HomeTenantID)
			for i := range before {
				if !before[i].LastUpdateTime.Equal(after[i].LastUpdateTime) {
					t.Fatalf("a rejected update changed incident %d", before[i].ID)
				}
			}
		})
	}
	if _, _, err := st.AddAlertComment(identity.HomeTenantID, a.ID, "", "me"); !errors.Is(err, ErrInvalidPatch) {
		t.Errorf("empty comment: %v", err)
	}
}

func TestAlertChangesFollowTheIncident(t *testing.T) {
	st := New(refTime)
	wall := fakeWall(st, refTime.Add(time.Hour))
	a, inc := openAlert(t, st)

	// The listing lag hides an alert change as it hides an incident change.
	st.SetListingLag(time.Minute)
	if _, _, err := st.AddAlertComment(identity.HomeTenantID, a.ID, "late", "me"); err != nil {
		t.Fatal(err)
	}
	listed := func() Alert {
		for _, li := range st.Listing(identity.HomeTenantID) {
			for _, la := range li.Alerts {
				if la.ID == a.ID {
					return la
				}
			}
		}
		t.Fatal("alert not listed")
		return Alert{}
	}
	if got := listed(); len(got.Comments) != len(a.Comments) {
		t.Errorf("lagged listing shows %d comments, want the old %d", len(got.Comments), len(a.Comments))
	}
	if got, _, _ := st.GetAlert(identity.HomeTenantID, a.ID); len(got.Comments) != len(a.Comments)+1 {
		t.Errorf("GetAlert is not lagged: %d comments", len(got.Comments))
	}
	*wall = wall.Add(time.Minute)
	if got := listed(); len(got.Comments) != len(a.Comments)+1 {
		t.Errorf("after the lag: %d comments", len(got.Comments))
	}

	// A merge moves the alert; it is then found, and updated, in the target.
	var target int64
	for _, other := range st.List(identity.HomeTenantID) {
		if other.ID != inc.ID && other.Status != StatusRedirected {
			target = other.ID
			break
		}
	}
	if _, _, err := st.Redirect(identity.HomeTenantID, inc.ID, target); err != nil {
		t.Fatal(err)
	}
	got, holder, err := st.GetAlert(identity.HomeTenantID, a.ID)
	if err != nil || holder.ID != target || got.IncidentID != target {
		t.Fatalf("after the merge: alert in %d (incidentId %d), %v; want %d", holder.ID, got.IncidentID, err, target)
	}
	progress := AlertStatusInProgress
	if _, holder, err = st.UpdateAlert(identity.HomeTenantID, a.ID, AlertPatch{Status: &progress}); err != nil || holder.ID != target {
		t.Errorf("update after the merge: %d, %v", holder.ID, err)
	}
}
