package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/kql"
)

// ErrNotFound is returned for an incident id the tenant does not have.
var ErrNotFound = errors.New("incident not found")

// ErrInvalidPatch wraps the reason a [Patch] was rejected.
var ErrInvalidPatch = errors.New("invalid incident update")

// timePrecision is the finest precision the APIs send (7 fractional digits).
const timePrecision = 100 * time.Nanosecond

// Store is the emulator's in-memory incident data, per tenant.
type Store struct {
	now   time.Time        // reference time the sample data was generated for
	clock func() time.Time // wall clock for mutations
	floor time.Time        // mutations never stamp earlier than this

	mu         sync.RWMutex
	tenants    map[string]*tenantData
	lastStamp  time.Time
	listingLag time.Duration // see SetListingLag; guarded by mu
	huntingMu  sync.Mutex
	huntingDBs map[string]*kql.Database
	// huntingRows counts rows written to hunting response bodies.
	huntingRows atomic.Int64
}

type tenantData struct {
	incidents []*Incident // newest created first, ties by id desc
	byID      map[int64]*Incident
	// history holds the earlier versions of the incidents changed since
	// New, for the listing lag; seeded incidents not yet changed have none.
	history map[int64]*history
}

// New returns a store holding the sample data of identity.HomeTenantID and
// identity.SecondTenantID, generated for reference time now: the same now
// always gives the same data.
func New(now time.Time) *Store {
	now = now.UTC()
	s := &Store{
		now:        now,
		clock:      time.Now,
		tenants:    make(map[string]*tenantData),
		huntingDBs: make(map[string]*kql.Database),
	}
	var newest time.Time
	for _, p := range profiles {
		incidents := generate(p, now)
		td := &tenantData{byID: make(map[int64]*Incident, len(incidents)), history: make(map[int64]*history)}
		for i := range incidents {
			inc := &incidents[i]
			td.incidents = append(td.incidents, inc)
			td.byID[inc.ID] = inc
			newest = maxTime(newest, newestTime(inc))
		}
		sortNewestFirst(td.incidents)
		s.tenants[p.tenantID] = td
	}
	s.floor = newest.Add(time.Millisecond)
	return s
}

// Tenants returns the ids of the tenants that have data.
func (s *Store) Tenants() []string {
	ids := make([]string, len(profiles))
	for i, p := range profiles {
		ids[i] = p.tenantID
	}
	return ids
}

// List returns all incidents of tenantID as they are now, newest created
// first (ties by id descending). An unknown tenant has none. The API list
// handlers use [Store.Listing], which applies the listing lag.
func (s *Store) List(tenantID string) []Incident {
	s.mu.RLock()
	defer s.mu.RUnlock()
	td := s.tenants[tenantID]
	if td == nil {
		return nil
	}
	return cloneAll(td.incidents)
}

// Get returns incident id of tenantID, or [ErrNotFound].
func (s *Store) Get(tenantID string, id int64) (Incident, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	inc, err := s.lookup(tenantID, id)
	if err != nil {
		return Incident{}, err
	}
	return inc.clone(), nil
}

// Patch is a partial update of an incident; nil fields are left unchanged.
type Patch struct {
	Status         *Status
	AssignedTo     *string // "" unassigns
	Classification *Classification
	Determination  *Determination
	CustomTags     *[]string // replaces the custom tags
	Comment        string    // appended when not ""
	// Author is recorded as the comment author and as LastModifiedBy.
	Author string
}

// Update applies p to incident id of tenantID, bumps its last-update time and
// returns the updated incident. It returns [ErrNotFound] or an error wrapping
// [ErrInvalidPatch]; a rejected patch changes nothing.
func (s *Store) Update(tenantID string, id int64, p Patch) (Incident, error) {
	if err := p.validate(); err != nil {
		return Incident{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, err := s.lookup(tenantID, id)
	if err != nil {
		return Incident{}, err
	}
	stamp := s.nextStamp()
	s.tenants[tenantID].remember(inc, s.clock())
	if p.Status != nil {
		inc.Status = *p.Status
	}
	if p.AssignedTo != nil {
		inc.AssignedTo = *p.AssignedTo
	}
	if p.Classification != nil {
		inc.Classification = *p.Classification
	}
	if p.Determination != nil {
		inc.Determination = *p.Determination
	}
	if p.CustomTags != nil {
		inc.CustomTags = cloneSlice(*p.CustomTags)
		if inc.CustomTags == nil {
			inc.CustomTags = []string{}
		}
	}
	if p.Comment != "" {
		inc.Comments = append(inc.Comments, Comment{Text: p.Comment, Author: p.Author, CreatedTime: stamp})
	}
	inc.LastModifiedBy = p.Author
	inc.LastUpdateTime = stamp
	return inc.clone(), nil
}

// AddComment appends a comment to incident id of tenantID and returns the
// updated incident. text must not be empty.
func (s *Store) AddComment(tenantID string, id int64, text, author string) (Incident, error) {
	if text == "" {
		return Incident{}, fmt.Errorf("%w: empty comment", ErrInvalidPatch)
	}
	return s.Update(tenantID, id, Patch{Comment: text, Author: author})
}

// Hunting returns the advanced hunting database of tenantID, built on first
// use for the store's reference time.
func (s *Store) Hunting(tenantID string) *kql.Database {
	s.huntingMu.Lock()
	defer s.huntingMu.Unlock()
	db, ok := s.huntingDBs[tenantID]
	if !ok {
		db = kql.NewSampleDatabase(tenantID, s.now)
		s.huntingDBs[tenantID] = db
	}
	return db
}

// HuntingRowsCounter returns the counter of rows written to hunting
// response bodies, shared by the Graph and XDR handlers over this store.
func (s *Store) HuntingRowsCounter() *atomic.Int64 { return &s.huntingRows }

// ReferenceTime returns the time the sample data was generated for.
func (s *Store) ReferenceTime() time.Time { return s.now }

func (p Patch) validate() error {
	switch {
	case p.Status != nil && !p.Status.Valid():
		return fmt.Errorf("%w: unknown status %q", ErrInvalidPatch, *p.Status)
	case p.Classification != nil && !p.Classification.Valid():
		return fmt.Errorf("%w: unknown classification %q", ErrInvalidPatch, *p.Classification)
	case p.Determination != nil && !p.Determination.Valid():
		return fmt.Errorf("%w: unknown determination %q", ErrInvalidPatch, *p.Determination)
	}
	return nil
}

// lookup must be called with s.mu held.
func (s *Store) lookup(tenantID string, id int64) (*Incident, error) {
	td := s.tenants[tenantID]
	if td == nil {
		return nil, ErrNotFound
	}
	inc := td.byID[id]
	if inc == nil {
		return nil, ErrNotFound
	}
	return inc, nil
}

// nextStamp returns the last-update time for a mutation: the wall clock, but
// never before the newest generated time + 1ms and always after the previous
// mutation, so that pollers filtering on last-update time see every change.
// It must be called with s.mu held for writing.
func (s *Store) nextStamp() time.Time {
	t := maxTime(s.clock().UTC().Truncate(timePrecision), s.floor)
	if !t.After(s.lastStamp) {
		t = s.lastStamp.Add(timePrecision)
	}
	s.lastStamp = t
	return t
}

func sortNewestFirst(incidents []*Incident) {
	slices.SortFunc(incidents, func(a, b *Incident) int {
		if c := b.CreatedTime.Compare(a.CreatedTime); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

func newestTime(inc *Incident) time.Time {
	t := maxTime(inc.CreatedTime, inc.LastUpdateTime)
	for _, c := range inc.Comments {
		t = maxTime(t, c.CreatedTime)
	}
	for _, a := range inc.Alerts {
		t = maxTime(t, a.LastUpdateTime)
	}
	return t
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
