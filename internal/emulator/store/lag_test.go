package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// listed returns incident id as Listing shows it, and whether it is there.
func listed(st *Store, tenant string, id int64) (Incident, bool) {
	for _, inc := range st.Listing(tenant) {
		if inc.ID == id {
			return inc, true
		}
	}
	return Incident{}, false
}

func TestListingWithoutLagIsList(t *testing.T) {
	st := New(refTime)
	fakeWall(st, refTime.Add(time.Hour))
	if _, err := st.Update(identity.HomeTenantID, st.List(identity.HomeTenantID)[5].ID, Patch{Comment: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(identity.HomeTenantID, NewIncident{}); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range st.Tenants() {
		if !reflect.DeepEqual(st.Listing(tenant), st.List(tenant)) {
			t.Errorf("tenant %s: Listing without a lag differs from List", tenant)
		}
	}
	if st.Listing("00000000-0000-0000-0000-000000000000") != nil {
		t.Error("an unknown tenant lists incidents")
	}
}

// TestListingLag makes changes at known wall times and checks which version
// a listing shows as the clock moves on.
func TestListingLag(t *testing.T) {
	const lag = 10 * time.Minute
	st := New(refTime)
	t0 := refTime.Add(time.Hour)
	wall := fakeWall(st, t0)
	st.SetListingLag(lag)
	if st.ListingLag() != lag {
		t.Fatalf("ListingLag = %v", st.ListingLag())
	}
	tenant := identity.HomeTenantID
	src, dst, _ := openPair(t, st, tenant)
	changed := st.List(tenant)[7]
	seed := map[int64]Incident{src.ID: src, dst.ID: dst, changed.ID: changed}

	// t0: first update of changed; t0+1m: created; t0+2m: second update;
	// t0+3m: src redirected into dst.
	v1, err := st.Update(tenant, changed.ID, Patch{AssignedTo: ptr("first@contoso.com")})
	if err != nil {
		t.Fatal(err)
	}
	*wall = t0.Add(time.Minute)
	created, err := st.Create(tenant, NewIncident{Title: "late"})
	if err != nil {
		t.Fatal(err)
	}
	*wall = t0.Add(2 * time.Minute)
	v2, err := st.Update(tenant, changed.ID, Patch{AssignedTo: ptr("second@contoso.com")})
	if err != nil {
		t.Fatal(err)
	}
	*wall = t0.Add(3 * time.Minute)
	redirected, merged, err := st.Redirect(tenant, src.ID, dst.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := map[int64]Incident{src.ID: redirected, dst.ID: merged, changed.ID: v2, created.ID: created}

	tests := []struct {
		at   time.Duration // after t0
		want map[int64]*Incident
	}{
		{3 * time.Minute, map[int64]*Incident{changed.ID: ptr(seed[changed.ID]), created.ID: nil, src.ID: ptr(seed[src.ID]), dst.ID: ptr(seed[dst.ID])}},
		{lag - time.Nanosecond, map[int64]*Incident{changed.ID: ptr(seed[changed.ID]), created.ID: nil}},
		{lag, map[int64]*Incident{changed.ID: &v1, created.ID: nil}},
		{lag + time.Minute, map[int64]*Incident{changed.ID: &v1, created.ID: &created, src.ID: ptr(seed[src.ID])}},
		{lag + 2*time.Minute, map[int64]*Incident{changed.ID: &v2, created.ID: &created, src.ID: ptr(seed[src.ID]), dst.ID: ptr(seed[dst.ID])}},
		{lag + 3*time.Minute, map[int64]*Incident{changed.ID: &v2, created.ID: &created, src.ID: &redirected, dst.ID: &merged}},
	}
	for _, tt := range tests {
		*wall = t0.Add(tt.at)
		for id, want := range tt.want {
			got, ok := listed(st, tenant, id)
			switch {
			case want == nil && ok:
				t.Errorf("at t0+%v: incident %d is listed, want it hidden", tt.at, id)
			case want != nil && !ok:
				t.Errorf("at t0+%v: incident %d is not listed", tt.at, id)
			case want != nil && !reflect.DeepEqual(got, *want):
				t.Errorf("at t0+%v: incident %d listed with last update %v, assigned %q; want %v, %q",
					tt.at, id, got.LastUpdateTime, got.AssignedTo, want.LastUpdateTime, want.AssignedTo)
			}
		}
		for id, want := range now {
			if got, err := st.Get(tenant, id); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("at t0+%v: Get(%d) is lagged or fails (%v)", tt.at, id, err)
			}
		}
		if list := st.List(tenant); !reflect.DeepEqual(list[0], created) {
			t.Errorf("at t0+%v: List is lagged", tt.at)
		}
	}

	st.SetListingLag(-time.Second)
	*wall = t0.Add(3 * time.Minute)
	if st.ListingLag() != 0 || !reflect.DeepEqual(st.Listing(tenant), st.List(tenant)) {
		t.Error("a negative lag does not turn the lag off")
	}
}

// TestListingLagKeepsTheFirstVersion: with more changes within the lag than
// versions are kept, the listing still shows the incident, as it was before
// the first of them.
func TestListingLagKeepsTheFirstVersion(t *testing.T) {
	st := New(refTime)
	t0 := refTime.Add(time.Hour)
	wall := fakeWall(st, t0)
	st.SetListingLag(time.Hour)
	tenant := identity.SecondTenantID
	seed := st.List(tenant)[3]
	created, err := st.Create(tenant, NewIncident{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxVersions {
		*wall = t0.Add(time.Duration(i+1) * time.Second)
		for _, id := range []int64{seed.ID, created.ID} {
			if _, err := st.AddComment(tenant, id, "note", "bob"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, ok := listed(st, tenant, seed.ID); !ok || !reflect.DeepEqual(got, seed) {
		t.Errorf("seeded incident listed %v with %d comments, want its sample version", ok, len(got.Comments))
	}
	if _, ok := listed(st, tenant, created.ID); ok {
		t.Error("an incident created within the lag is listed")
	}
	*wall = t0.Add(time.Hour)
	if got, ok := listed(st, tenant, created.ID); !ok || len(got.Comments) != 0 {
		t.Errorf("an hour after its creation, the created incident is listed %v with %d comments; want its first version", ok, len(got.Comments))
	}
	*wall = t0.Add(time.Hour + 3*maxVersions*time.Second)
	for _, id := range []int64{seed.ID, created.ID} {
		got, _ := listed(st, tenant, id)
		if now, _ := st.Get(tenant, id); !reflect.DeepEqual(got, now) {
			t.Errorf("an hour after the last change, incident %d is listed with %d comments, want %d", id, len(got.Comments), len(now.Comments))
		}
	}
}
