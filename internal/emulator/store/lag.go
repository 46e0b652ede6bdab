package store

import (
	"slices"
	"time"
)

// maxVersions bounds the earlier versions remembered per incident.
const maxVersions = 16

// history is what the listing lag needs of one changed incident.
type history struct {
	// since is when the current version was made, by the store's clock.
	since time.Time
	// prev holds earlier versions, oldest first. The first is the sample
	// data's (since zero: visible from the start) or, for a created
	// incident, its creation; past maxVersions the second oldest is dropped.
	prev []version
}

// version is an earlier state of an incident and when it was made.
type version struct {
	since time.Time
	inc   Incident
}

// remember records inc's current version before a change made at madeAt.
// It must be called with the store's mu held for writing.
func (td *tenantData) remember(inc *Incident, madeAt time.Time) {
	h := td.history[inc.ID]
	if h == nil {
		h = &history{}
		td.history[inc.ID] = h
	}
	h.prev = append(h.prev, version{since: h.since, inc: inc.clone()})
	if len(h.prev) > maxVersions {
		h.prev = slices.Delete(h.prev, 1, 2)
	}
	h.since = madeAt
}

// SetListingLag makes [Store.Listing] show changes only once they are d old
// (by the store's wall clock), as Defender's filtered listings show some
// changes late: a changed incident is listed as it was before its changes of
// the last d, and one created within d is not listed. d <= 0 (the default)
// shows every change at once. The sample data counts as made before the
// store started; Get and List are never lagged.
func (s *Store) SetListingLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listingLag = max(d, 0)
}

// ListingLag returns the lag set by SetListingLag.
func (s *Store) ListingLag() time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.listingLag
}

// Listing returns what an incident listing of tenantID shows: [Store.List],
// less the changes younger than the listing lag (see SetListingLag). With no
// lag it is List. The order is List's: newest created first.
func (s *Store) Listing(tenantID string) []Incident {
	s.mu.RLock()
	defer s.mu.RUnlock()
	td := s.tenants[tenantID]
	if td == nil {
		return nil
	}
	if s.listingLag <= 0 {
		return cloneAll(td.incidents)
	}
	cutoff := s.clock().Add(-s.listingLag)
	out := make([]Incident, 0, len(td.incidents))
	for _, inc := range td.incidents {
		if v := td.visibleAt(inc, cutoff); v != nil {
			out = append(out, v.clone())
		}
	}
	return out
}

// visibleAt returns the newest version of inc made at or before cutoff, or
// nil when inc did not exist then.
func (td *tenantData) visibleAt(inc *Incident, cutoff time.Time) *Incident {
	h := td.history[inc.ID]
	if h == nil || !h.since.After(cutoff) {
		return inc
	}
	for i := len(h.prev) - 1; i >= 0; i-- {
		if !h.prev[i].since.After(cutoff) {
			return &h.prev[i].inc
		}
	}
	return nil
}

func cloneAll(incidents []*Incident) []Incident {
	out := make([]Incident, len(incidents))
	for i, inc := range incidents {
		out[i] = inc.clone()
	}
	return out
}
