package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Alerts live inside their incidents (Incident.Alerts): there is one copy of
// each alert, so a change made through the alerts API shows in the
// incident's alerts and the other way round.

// AlertPatch is a partial update of an alert; nil fields are left unchanged.
type AlertPatch struct {
	Status         *AlertStatus
	AssignedTo     *string // "" unassigns
	Classification *Classification
	Determination  *Determination
	Comment        string // appended when not ""
	// Author is recorded as the comment author.
	Author string
}

// GetAlert returns alert id of tenantID and the incident that holds it (as
// it is now, never lagged), or [ErrNotFound].
func (s *Store) GetAlert(tenantID, id string) (Alert, Incident, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	inc, i, err := s.lookupAlert(tenantID, id)
	if err != nil {
		return Alert{}, Incident{}, err
	}
	return inc.Alerts[i].clone(), inc.clone(), nil
}

// UpdateAlert applies p to alert id of tenantID and returns the updated
// alert and its incident. The alert's last-update time and its incident's
// get the same new stamp (as [Store.Update] gives), so that a poller of
// either sees the change; resolving the alert sets its resolved time,
// reopening it clears it. It returns [ErrNotFound] or an error wrapping
// [ErrInvalidPatch]; a rejected patch changes nothing.
//
// A determination must be one the update documentation lists for the
// alert's classification after the patch (reference §4.5,
// [DeterminationsFor]); the deprecated apt and securityPersonnel are listed
// for none and so cannot be set.
func (s *Store) UpdateAlert(tenantID, id string, p AlertPatch) (Alert, Incident, error) {
	if err := p.validate(); err != nil {
		return Alert{}, Incident{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, i, err := s.lookupAlert(tenantID, id)
	if err != nil {
		return Alert{}, Incident{}, err
	}
	a := &inc.Alerts[i]
	if p.Determination != nil {
		c := a.Classification
		if p.Classification != nil {
			c = *p.Classification
		}
		if !slices.Contains(determinationsByClassification[c], *p.Determination) {
			return Alert{}, Incident{}, alertPatchError(fmt.Sprintf("determination %q does not go with classification %q; allowed: %v",
				*p.Determination, c, determinationsByClassification[c]))
		}
	}
	madeAt, stamp := s.clock(), s.nextStamp()
	s.tenants[tenantID].remember(inc, madeAt)
	if p.Status != nil {
		switch {
		case *p.Status == AlertStatusResolved && a.Status != AlertStatusResolved:
			a.ResolvedTime = stamp
		case *p.Status != AlertStatusResolved:
			a.ResolvedTime = time.Time{}
		}
		a.Status = *p.Status
	}
	if p.AssignedTo != nil {
		a.AssignedTo = *p.AssignedTo
	}
	if p.Classification != nil {
		a.Classification = *p.Classification
	}
	if p.Determination != nil {
		a.Determination = *p.Determination
	}
	if p.Comment != "" {
		a.Comments = append(a.Comments, Comment{Text: p.Comment, Author: p.Author, CreatedTime: stamp})
	}
	a.LastUpdateTime = stamp
	inc.LastUpdateTime = stamp
	return a.clone(), inc.clone(), nil
}

// AddAlertComment appends a comment to alert id of tenantID and returns the
// updated alert and its incident. text must not be empty.
func (s *Store) AddAlertComment(tenantID, id, text, author string) (Alert, Incident, error) {
	if text == "" {
		return Alert{}, Incident{}, alertPatchError("empty comment")
	}
	return s.UpdateAlert(tenantID, id, AlertPatch{Comment: text, Author: author})
}

// alertPatchError is the reason an [AlertPatch] was rejected; it matches
// [ErrInvalidPatch].
type alertPatchError string

func (e alertPatchError) Error() string        { return "invalid alert update: " + string(e) }
func (e alertPatchError) Is(target error) bool { return target == ErrInvalidPatch }

func (p AlertPatch) validate() error {
	switch {
	case p.Status != nil && !p.Status.Valid():
		return alertPatchError(fmt.Sprintf("unknown alert status %q", *p.Status))
	case p.Classification != nil && !p.Classification.Valid():
		return alertPatchError(fmt.Sprintf("unknown classification %q", *p.Classification))
	case p.Determination != nil && !p.Determination.Valid():
		return alertPatchError(fmt.Sprintf("unknown determination %q", *p.Determination))
	}
	return nil
}

// lookupAlert finds alert id of tenantID: its incident and its index
// there. It must be called with s.mu held.
func (s *Store) lookupAlert(tenantID, id string) (*Incident, int, error) {
	td := s.tenants[tenantID]
	if td == nil || id == "" {
		return nil, 0, ErrNotFound
	}
	for _, inc := range td.incidents {
		for i := range inc.Alerts {
			if inc.Alerts[i].ID == id {
				return inc, i, nil
			}
		}
	}
	return nil, 0, ErrNotFound
}

// alertExtrasSalt separates the alert extras' random source from the main
// one, so that adding them left every other sample value as it was.
const alertExtrasSalt = 0xa1e7_c0de

// addAlertExtras gives some sample alerts their own comments and system
// tags, drawn from a random source of their own (seeded by the profile):
// about one alert in four has 1–2 comments, one in six a system tag.
func addAlertExtras(p tenantProfile, incidents []Incident) {
	r := rand.New(rand.NewPCG(p.seed^alertExtrasSalt, alertExtrasSalt))
	for i := range incidents {
		for j := range incidents[i].Alerts {
			a := &incidents[i].Alerts[j]
			if r.IntN(4) == 0 {
				for range 1 + r.IntN(2) {
					a.Comments = append(a.Comments, Comment{
						Text:        pick(r, alertCommentTexts),
						Author:      pick(r, p.owners),
						CreatedTime: betweenTimes(r, a.CreatedTime, a.LastUpdateTime),
					})
				}
				slices.SortFunc(a.Comments, func(x, y Comment) int { return x.CreatedTime.Compare(y.CreatedTime) })
			}
			if r.IntN(6) == 0 {
				a.SystemTags = append(a.SystemTags, pick(r, systemTagPool))
			}
		}
	}
}

// betweenTimes returns a time in [from, to], truncated to 100 ns.
func betweenTimes(r *rand.Rand, from, to time.Time) time.Time {
	if !to.After(from) {
		return from
	}
	t := from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))).Truncate(timePrecision)
	if t.Before(from) {
		return from
	}
	return t
}

var alertCommentTexts = []string{
	"Checked the process tree: matches the incident's first stage.",
	"False alarm from the backup agent.",
	"Device isolated pending review.",
	"Linked to ticket SEC-5102.",
}
