package service

import (
	"context"
	"strconv"

	"github.com/defender-gateway/gateway/internal/defender"
)

// The fake's alerts are its incidents' alerts, with their incident's id;
// cursors are offsets as for incidents.

func (b *fakeBackend) allAlerts() []*defender.Alert {
	var out []*defender.Alert
	for i := range b.incidents {
		for j := range b.incidents[i].Alerts {
			a := &b.incidents[i].Alerts[j]
			a.IncidentID = b.incidents[i].ID
			out = append(out, a)
		}
	}
	return out
}

func (b *fakeBackend) ListAlerts(_ context.Context, q defender.AlertListQuery) (*defender.AlertPage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alertLists = append(b.alertLists, q)
	if err := b.record("ListAlerts"); err != nil {
		return nil, err
	}
	var all []defender.Alert
	for _, a := range b.allAlerts() {
		if q.Filter.IncidentID == "" || a.IncidentID == q.Filter.IncidentID {
			all = append(all, *a)
		}
	}
	start := 0
	if q.Cursor != "" {
		var err error
		if start, err = strconv.Atoi(q.Cursor); err != nil || start > len(all) {
			return nil, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "bad cursor")
		}
	}
	end := min(start+q.PageSize, len(all))
	page := &defender.AlertPage{Alerts: all[start:end]}
	if end < len(all) {
		page.NextCursor = strconv.Itoa(end)
	}
	return page, nil
}

func (b *fakeBackend) findAlert(id string) (*defender.Alert, error) {
	for _, a := range b.allAlerts() {
		if a.ID == id {
			return a, nil
		}
	}
	return nil, defender.Errorf(defender.KindNotFound, defender.ReasonNotFound, "alert %s not found", id)
}

func (b *fakeBackend) GetAlert(_ context.Context, id string) (*defender.Alert, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("GetAlert"); err != nil {
		return nil, err
	}
	a, err := b.findAlert(id)
	if err != nil {
		return nil, err
	}
	out := *a
	return &out, nil
}

func (b *fakeBackend) UpdateAlert(_ context.Context, id string, u defender.AlertUpdate) (*defender.Alert, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alertUpdates = append(b.alertUpdates, u)
	if err := b.record("UpdateAlert"); err != nil {
		return nil, err
	}
	a, err := b.findAlert(id)
	if err != nil {
		return nil, err
	}
	if u.Status != nil {
		a.Status = *u.Status
	}
	if u.AssignedTo != nil {
		a.AssignedTo = *u.AssignedTo
	}
	if u.Classification != nil {
		a.Classification = *u.Classification
	}
	if u.Determination != nil {
		a.Determination = *u.Determination
	}
	if u.Comment != "" {
		a.Comments = append(a.Comments, defender.Comment{Text: u.Comment})
	}
	out := *a
	return &out, nil
}
