package store

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// NewIncident describes an incident for [Store.Create], as a detection
// opens one.
type NewIncident struct {
	// Title is the display name; "" names the incident after its alerts, as
	// the sample data is named.
	Title string
	// Severity is the incident's and its alerts' severity; "" is medium.
	Severity Severity
	// AssignedTo is the owner; "" leaves the incident unassigned.
	AssignedTo string
	// Alerts is how many alerts the incident has, 1–10; 0 means 1.
	Alerts int
}

// maxNewAlerts bounds NewIncident.Alerts.
const maxNewAlerts = 10

// Create adds an incident to tenantID, as a detection would open it: the
// next free id of the tenant, status active, unclassified, created and
// last updated now (the same stamp as [Store.Update] gives a change), with
// n.Alerts alerts drawn from the sample data's templates (ids unique in the
// tenant). Being the newest, it is listed first. It returns [ErrNotFound]
// for an unknown tenant or an error wrapping [ErrInvalidPatch] for a bad n.
func (s *Store) Create(tenantID string, n NewIncident) (Incident, error) {
	if n.Severity == "" {
		n.Severity = SeverityMedium
	}
	if n.Alerts == 0 {
		n.Alerts = 1
	}
	switch {
	case !n.Severity.Valid():
		return Incident{}, fmt.Errorf("%w: unknown severity %q", ErrInvalidPatch, n.Severity)
	case n.Alerts < 1 || n.Alerts > maxNewAlerts:
		return Incident{}, fmt.Errorf("%w: an incident has 1 to %d alerts, not %d", ErrInvalidPatch, maxNewAlerts, n.Alerts)
	}
	p, ok := profileOf(tenantID)
	s.mu.Lock()
	defer s.mu.Unlock()
	td := s.tenants[tenantID]
	if td == nil || !ok {
		return Incident{}, ErrNotFound
	}
	var id int64
	taken := make(map[string]bool)
	for _, inc := range td.incidents {
		id = max(id, inc.ID)
		for _, a := range inc.Alerts {
			taken[a.ID] = true
		}
	}
	id++
	madeAt, stamp := s.clock(), s.nextStamp()
	g := newGenerator(p, s.now)
	// Seeded by the id, so that the same id always gets the same alerts.
	g.r = rand.New(rand.NewPCG(p.seed^uint64(id), uint64(id)))
	inc := g.opened(id, stamp, n, taken)
	td.incidents = append(td.incidents, &inc)
	sortNewestFirst(td.incidents)
	td.byID[id] = &inc
	td.history[id] = &history{since: madeAt}
	return inc.clone(), nil
}

// opened builds a new incident for Create; taken holds the tenant's alert
// ids, to which it adds the new ones.
func (g *generator) opened(id int64, stamp time.Time, n NewIncident, taken map[string]bool) Incident {
	inc := Incident{
		ID:             id,
		TenantID:       g.p.tenantID,
		CreatedTime:    stamp,
		LastUpdateTime: stamp,
		AssignedTo:     n.AssignedTo,
		Classification: ClassificationUnknown,
		Determination:  DeterminationUnknown,
		Status:         StatusActive,
		Severity:       n.Severity,
		CustomTags:     []string{},
		SystemTags:     []string{},
		Comments:       []Comment{},
		PriorityScore:  g.r.IntN(101),
		WebURL:         fmt.Sprintf("https://security.microsoft.com/incidents/%d?tid=%s", id, g.p.tenantID),
	}
	for len(inc.Alerts) < n.Alerts {
		a := g.alert(&inc, len(inc.Alerts))
		if taken[a.ID] {
			continue
		}
		taken[a.ID] = true
		inc.Alerts = append(inc.Alerts, a)
	}
	inc.DisplayName = n.Title
	if inc.DisplayName == "" {
		inc.DisplayName = displayName(inc.Alerts)
	}
	inc.Description = fmt.Sprintf("%s. %d alert(s) correlated by Microsoft Defender XDR.", inc.DisplayName, len(inc.Alerts))
	return inc
}

// Redirect merges incident id of tenantID into incident target, as Defender
// does when it correlates them: id becomes redirected with
// RedirectIncidentID target and hands its alerts to target, which keeps its
// own; both get the same new last-update time (as does each moved alert).
// It returns both incidents as changed, or [ErrNotFound] when either is
// unknown, or an error wrapping [ErrInvalidPatch] when id is target or
// either is already redirected; a rejected redirect changes nothing.
func (s *Store) Redirect(tenantID string, id, target int64) (redirected, merged Incident, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, err := s.lookup(tenantID, id)
	if err != nil {
		return Incident{}, Incident{}, err
	}
	dst, err := s.lookup(tenantID, target)
	if err != nil {
		return Incident{}, Incident{}, err
	}
	switch {
	case id == target:
		return Incident{}, Incident{}, fmt.Errorf("%w: incident %d cannot be redirected to itself", ErrInvalidPatch, id)
	case src.Status == StatusRedirected:
		return Incident{}, Incident{}, fmt.Errorf("%w: incident %d is already redirected to %d", ErrInvalidPatch, id, src.RedirectIncidentID)
	case dst.Status == StatusRedirected:
		return Incident{}, Incident{}, fmt.Errorf("%w: target incident %d is itself redirected to %d", ErrInvalidPatch, target, dst.RedirectIncidentID)
	}
	madeAt, stamp := s.clock(), s.nextStamp()
	td := s.tenants[tenantID]
	td.remember(src, madeAt)
	td.remember(dst, madeAt)
	moved := src.Alerts
	src.Alerts = []Alert{}
	src.Status = StatusRedirected
	src.RedirectIncidentID = target
	src.LastUpdateTime = stamp
	for i := range moved {
		moved[i].IncidentID = target
		moved[i].LastUpdateTime = stamp
	}
	dst.Alerts = append(dst.Alerts, moved...)
	dst.LastUpdateTime = stamp
	return src.clone(), dst.clone(), nil
}

func profileOf(tenantID string) (tenantProfile, bool) {
	for _, p := range profiles {
		if p.tenantID == tenantID {
			return p, true
		}
	}
	return tenantProfile{}, false
}
