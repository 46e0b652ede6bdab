package emulator

import (
	"fmt"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// errNoStore is returned by the direct changes of an emulator whose APIs
// were replaced (tests of this package); it wraps store.ErrNotFound.
var errNoStore = fmt.Errorf("emulator: no incident store: %w", store.ErrNotFound)

func (e *Emulator) incidentStore() (*store.Store, error) {
	if e.store == nil {
		return nil, errNoStore
	}
	return e.store, nil
}

// UpdateIncident changes incident id of tenantID directly, as the Defender
// portal or another tool would (no API request is made or logged): it
// applies p through store.Store.Update, which stamps a new last-update time
// (p.Author becomes lastModifiedBy and the comment's author). Errors are
// store.ErrNotFound or wrap store.ErrInvalidPatch.
func (e *Emulator) UpdateIncident(tenantID string, id int64, p store.Patch) (store.Incident, error) {
	st, err := e.incidentStore()
	if err != nil {
		return store.Incident{}, err
	}
	return st.Update(tenantID, id, p)
}

// CreateIncident opens a new incident in tenantID directly, as a detection
// would (see store.Store.Create): the tenant's next free id, status active,
// created and last updated now, with alerts like the sample data's, listed
// first. Errors are store.ErrNotFound (unknown tenant) or wrap
// store.ErrInvalidPatch (bad severity or alert count).
func (e *Emulator) CreateIncident(tenantID string, n store.NewIncident) (store.Incident, error) {
	st, err := e.incidentStore()
	if err != nil {
		return store.Incident{}, err
	}
	return st.Create(tenantID, n)
}

// RedirectIncident merges incident id of tenantID into target directly, as
// Defender's correlation does (see store.Store.Redirect): id becomes
// redirected with redirectIncidentId target, its alerts move to target, and
// both get a new last-update time. It returns the redirected incident (id);
// Incident(tenantID, target) reads the target. Errors: store.ErrNotFound
// for an unknown tenant, id or target; store.ErrInvalidPatch when id is
// target or either is already redirected.
func (e *Emulator) RedirectIncident(tenantID string, id, target int64) (store.Incident, error) {
	st, err := e.incidentStore()
	if err != nil {
		return store.Incident{}, err
	}
	redirected, _, err := st.Redirect(tenantID, id, target)
	return redirected, err
}

// Incident returns incident id of tenantID as it is now (never lagged), or
// store.ErrNotFound.
func (e *Emulator) Incident(tenantID string, id int64) (store.Incident, error) {
	st, err := e.incidentStore()
	if err != nil {
		return store.Incident{}, err
	}
	return st.Get(tenantID, id)
}

// SetListingLag makes the Graph and XDR incident lists and Graph's alert
// list (any filter, any page) show a change only once it is d old by the
// wall clock, as Defender's listings show some changes late: an incident
// (or alert) changed within d is listed as it was before those changes, one
// created within d is not listed. GET of one incident or alert is never
// lagged. d <= 0, the default, shows changes at once. The sample data
// counts as made before Start. See store.Store.SetListingLag.
func (e *Emulator) SetListingLag(d time.Duration) {
	if e.store != nil {
		e.store.SetListingLag(d)
	}
}

// IncidentListCalls returns how many incident list requests (Graph
// GET /v1.0/security/incidents, XDR GET /api/incidents; any tenant, any
// query, whatever the answer, including those a fault answered or reset)
// the request log holds: since Start or the last ResetRequests. A request
// is counted once it has been answered, as it is logged.
func (e *Emulator) IncidentListCalls() int64 { return e.requests.incidentListCount() }

// IsIncidentList reports whether r is an incident list request, the
// requests IncidentListCalls counts: to count them by API or tenant, filter
// Requests() with it.
func IsIncidentList(r Request) bool {
	return r.API != APIEntra && classify(r.API, r.Method, r.Path) == RouteIncidentList
}

// UpdateAlert changes alert id of tenantID directly, as the portal would
// (no API request is made or logged): store.Store.UpdateAlert, which gives
// the alert and its incident a new last-update time. Errors are
// store.ErrNotFound or wrap store.ErrInvalidPatch.
func (e *Emulator) UpdateAlert(tenantID, id string, p store.AlertPatch) (store.Alert, error) {
	st, err := e.incidentStore()
	if err != nil {
		return store.Alert{}, err
	}
	a, _, err := st.UpdateAlert(tenantID, id, p)
	return a, err
}

// Alert returns alert id of tenantID as it is now (never lagged), or
// store.ErrNotFound. The alert lives in its incident (Incident(tenantID,
// alert.IncidentID).Alerts): Graph's alerts_v2 routes and the incidents'
// alerts show the same data.
func (e *Emulator) Alert(tenantID, id string) (store.Alert, error) {
	st, err := e.incidentStore()
	if err != nil {
		return store.Alert{}, err
	}
	a, _, err := st.GetAlert(tenantID, id)
	return a, err
}
