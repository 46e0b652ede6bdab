package watch

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// Kind is the kind of a change.
type Kind int

// The kinds of change.
const (
	KindUnspecified Kind = iota
	// Created: the incident was created after the round's lower bound and
	// was not seen before.
	Created
	// Updated: any other change.
	Updated
	// Redirected: the incident was merged into another.
	Redirected
)

// Event is one change: of an incident, or, on an alert poller, of the
// alert Alert.
type Event struct {
	Kind     Kind              `json:"k"`
	Incident defender.Incident `json:"i"`
	Alert    *defender.Alert   `json:"al,omitempty"`
	// Target is, for Redirected, the incident it was merged into (only its
	// ID when it could not be read).
	Target *defender.Incident `json:"t,omitempty"`
}

// ID is the id of the changed incident or alert.
func (e *Event) ID() string {
	if e.Alert != nil {
		return e.Alert.ID
	}
	return e.Incident.ID
}

// UpdateTime is the last update of the changed incident or alert.
func (e *Event) UpdateTime() time.Time {
	if e.Alert != nil {
		return e.Alert.UpdateTime
	}
	return e.Incident.UpdateTime
}

// Round is what one poll found: its events, oldest update first, and the
// watermarks before and after it.
type Round struct {
	Events []Event `json:"e,omitempty"`
	// From is the watermark the round started from: a safe position for
	// its events. After is the watermark once the round is delivered.
	From  time.Time `json:"f"`
	After time.Time `json:"a"`
}

// State is a poller's memory: its watermark and the last-update time of
// every incident it delivered whose update is still inside the re-read
// window.
type State struct {
	Watermark time.Time            `json:"w"`
	Seen      map[string]time.Time `json:"s,omitempty"`
}

// Timing is how a poller reads.
type Timing struct {
	// Interval is the time between two rounds.
	Interval time.Duration
	// Overlap is how far before the watermark each round re-reads.
	Overlap time.Duration
	// Delay is how far the watermark trails the clock: a change the
	// upstream lists up to Delay after it was made is still read.
	Delay time.Duration
	// ExpandRetry is how long a poller lists without alerts, after listing
	// with them failed, before it tries again.
	ExpandRetry time.Duration
}

// listPageSize is the page size of a round's listing (the backends make as
// many upstream calls as a page needs).
const listPageSize = 500

// maxRoundIncidents bounds one round's listing: a round that would read
// more fails (and is retried) rather than holding an unbounded result.
const maxRoundIncidents = 50_000

var errRoundTooLarge = defender.Errorf(defender.KindResourceExhausted, "WATCH_ROUND_TOO_LARGE",
	"more than %d incidents changed inside one polling window", maxRoundIncidents)

// poller runs rounds for one key. It is not safe for concurrent use.
type poller struct {
	timing      Timing
	withAlerts  bool
	subject     Subject
	now         func() time.Time
	noExpandTil time.Time // list without alerts until then
	onFallback  func(error)
	// fellBack says that the last round read the alerts per incident.
	fellBack bool
}

// round polls once from st and returns the round and the state after it;
// st itself is not changed, so a failed round changes nothing. A zero
// watermark starts at now minus the delay.
func (p *poller) round(ctx context.Context, b defender.Backend, st State) (Round, State, error) {
	now := p.now()
	if st.Watermark.IsZero() {
		st.Watermark = now.Add(-p.timing.Delay)
	}
	from := st.Watermark.Add(-p.timing.Overlap)
	var events []Event
	var next State
	if p.subject == AlertsSubject {
		alerts, err := listAlertsSince(ctx, b, from)
		if err != nil {
			return Round{}, st, err
		}
		events, next = diff(st, alertItems(alerts), from)
	} else {
		incidents, fetchAlerts, err := p.list(ctx, b, from, now)
		p.fellBack = fetchAlerts
		if err != nil {
			return Round{}, st, err
		}
		events, next = diff(st, incidentItems(incidents), from)
		if err := p.complete(ctx, b, events, fetchAlerts); err != nil {
			return Round{}, st, err
		}
	}
	after := now.Add(-p.timing.Delay)
	if after.Before(st.Watermark) {
		after = st.Watermark
	}
	next.Watermark = after
	prune(next.Seen, after.Add(-p.timing.Overlap))
	return Round{Events: events, From: st.Watermark, After: after}, next, nil
}

// list reads every incident updated at or after from. With alerts wanted,
// it lists with them unless that failed recently; when it fails upstream,
// it lists without and reports that the alerts must be fetched per
// incident.
func (p *poller) list(ctx context.Context, b defender.Backend, from, now time.Time) ([]defender.Incident, bool, error) {
	withAlerts := p.withAlerts && !now.Before(p.noExpandTil)
	incidents, err := listSince(ctx, b, from, withAlerts)
	if err == nil || !withAlerts || !expandFailure(err) {
		return incidents, p.withAlerts && !withAlerts, err
	}
	p.noExpandTil = now.Add(p.timing.ExpandRetry)
	if p.onFallback != nil {
		p.onFallback(err)
	}
	incidents, err = listSince(ctx, b, from, false)
	return incidents, true, err
}

// expandFailure reports an error that listing without alerts may avoid:
// the upstream failed (5xx after the backend's retries) or answered a body
// that does not decode.
func expandFailure(err error) bool {
	e, ok := defender.AsError(err)
	return ok && (e.Kind == defender.KindUnavailable || e.Kind == defender.KindInternal) && e.UpstreamStatus != 0
}

// listSince lists all pages of the incidents updated at or after from.
func listSince(ctx context.Context, b defender.Backend, from time.Time, withAlerts bool) ([]defender.Incident, error) {
	var out []defender.Incident
	q := defender.ListQuery{Filter: defender.IncidentFilter{UpdatedFrom: from}, PageSize: listPageSize, WithAlerts: withAlerts}
	for {
		page, err := b.ListIncidents(ctx, q)
		if err != nil {
			return nil, err
		}
		if page == nil {
			return out, nil
		}
		out = append(out, page.Incidents...)
		if len(out) > maxRoundIncidents {
			return nil, errRoundTooLarge
		}
		if page.NextCursor == "" {
			return out, nil
		}
		q.Cursor = page.NextCursor
	}
}

// item is one listed incident or alert, as diff compares them.
type item struct {
	id             string
	update, create time.Time
	redirected     bool
	event          Event
}

func incidentItems(incidents []defender.Incident) []item {
	out := make([]item, len(incidents))
	for i, inc := range incidents {
		out[i] = item{id: inc.ID, update: inc.UpdateTime, create: inc.CreateTime,
			redirected: inc.Status == defender.StatusRedirected, event: Event{Incident: inc}}
	}
	return out
}

func alertItems(alerts []defender.Alert) []item {
	out := make([]item, len(alerts))
	for i := range alerts {
		a := &alerts[i]
		out[i] = item{id: a.ID, update: a.UpdateTime, create: a.CreateTime, event: Event{Alert: a}}
	}
	return out
}

// diff returns the events of items (read from from on) that st has not
// delivered, oldest update first, and the state that records them.
func diff(st State, items []item, from time.Time) ([]Event, State) {
	slices.SortStableFunc(items, func(a, b item) int {
		if c := a.update.Compare(b.update); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	next := State{Watermark: st.Watermark, Seen: make(map[string]time.Time, len(st.Seen)+len(items))}
	for id, t := range st.Seen {
		next.Seen[id] = t
	}
	var events []Event
	for _, it := range items {
		// An upstream that filters at a coarser precision than from returns
		// a little more: what is older was delivered by earlier rounds.
		if it.id == "" || it.update.Before(from) {
			continue
		}
		seen, known := next.Seen[it.id]
		if known && !it.update.After(seen) {
			continue
		}
		next.Seen[it.id] = it.update
		ev := it.event
		ev.Kind = kindOf(it, known, from)
		events = append(events, ev)
	}
	return events, next
}

func kindOf(it item, known bool, from time.Time) Kind {
	switch {
	case it.redirected:
		return Redirected
	case !known && !it.create.Before(from):
		return Created
	}
	return Updated
}

// listAlertsSince lists all pages of the alerts updated at or after from.
func listAlertsSince(ctx context.Context, b defender.Backend, from time.Time) ([]defender.Alert, error) {
	var out []defender.Alert
	q := defender.AlertListQuery{Filter: defender.AlertFilter{UpdatedFrom: from}, PageSize: listPageSize}
	for {
		page, err := b.ListAlerts(ctx, q)
		if err != nil {
			return nil, err
		}
		if page == nil {
			return out, nil
		}
		out = append(out, page.Alerts...)
		if len(out) > maxRoundIncidents {
			return nil, errRoundTooLarge
		}
		if page.NextCursor == "" {
			return out, nil
		}
		q.Cursor = page.NextCursor
	}
}

// complete reads what the events still need: each changed incident's
// alerts when the listing came without them, and each redirect's target.
func (p *poller) complete(ctx context.Context, b defender.Backend, events []Event, fetchAlerts bool) error {
	for i := range events {
		ev := &events[i]
		if fetchAlerts {
			full, err := b.GetIncident(ctx, ev.Incident.ID, true)
			if err != nil && !notFound(err) {
				return err
			}
			if full != nil {
				ev.Incident.Alerts = full.Alerts
			}
		}
		if ev.Kind == Redirected && ev.Incident.RedirectIncidentID != "" {
			ev.Target = &defender.Incident{ID: ev.Incident.RedirectIncidentID}
			if target, err := b.GetIncident(ctx, ev.Incident.RedirectIncidentID, p.withAlerts); err == nil && target != nil {
				ev.Target = target
			} else if err != nil && ctx.Err() != nil {
				return err
			}
		}
	}
	return nil
}

func notFound(err error) bool {
	var e *defender.Error
	return errors.As(err, &e) && e.Kind == defender.KindNotFound
}

// prune forgets the incidents last updated before floor: no later round
// reads them.
func prune(seen map[string]time.Time, floor time.Time) {
	for id, t := range seen {
		if t.Before(floor) {
			delete(seen, id)
		}
	}
}
