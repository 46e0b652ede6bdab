package service

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
)

// canonicalTenant is the tenant the fake resolver serves, as "default" or
// itself, like the app context.
const canonicalTenant = "e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f42"

// otherTenant is a second tenant the fake resolver serves, with the same
// backend.
const otherTenant = "other.example"

// fakeResolver serves canonicalTenant (also as "default") and otherTenant
// with one backend.
type fakeResolver struct {
	backend defender.Backend
}

func (r fakeResolver) Resolve(_ context.Context, tenant string) (authctx.Target, error) {
	switch tenant {
	case "default", canonicalTenant:
		return authctx.Target{Backend: r.backend, Tenant: canonicalTenant}, nil
	case otherTenant:
		return authctx.Target{Backend: r.backend, Tenant: otherTenant}, nil
	}
	return authctx.Target{}, defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed, "tenant %q is not allowed", tenant)
}

// fakeBackend is an in-memory backend: incidents newest first, a cursor
// that is the offset of the next page, and a record of every call.
type fakeBackend struct {
	kind defender.BackendKind

	mu        sync.Mutex
	incidents []defender.Incident
	hunting   *defender.HuntingResult
	err       error // returned by every call when set
	calls     []string
	lists     []defender.ListQuery
	gets      []bool // withAlerts of each GetIncident
	updates   []defender.IncidentUpdate
	hunts     []defender.HuntingQuery

	alertLists   []defender.AlertListQuery
	alertUpdates []defender.AlertUpdate
}

var baseTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newFakeBackend holds n incidents with ids 1000.. and falling create times.
func newFakeBackend(n int) *fakeBackend {
	b := &fakeBackend{kind: defender.BackendGraph}
	for i := range n {
		b.incidents = append(b.incidents, defender.Incident{
			ID:          strconv.Itoa(1000 + i),
			DisplayName: "incident " + strconv.Itoa(i),
			Status:      defender.StatusActive,
			Severity:    defender.SeverityHigh,
			CreateTime:  baseTime.Add(-time.Duration(i) * time.Hour),
			UpdateTime:  baseTime.Add(-time.Duration(i) * time.Minute),
			Alerts:      []defender.Alert{{ID: "da" + strconv.Itoa(i), Title: "alert"}},
		})
	}
	return b
}

func (b *fakeBackend) record(call string) error {
	b.calls = append(b.calls, call)
	return b.err
}

func (b *fakeBackend) Kind() defender.BackendKind { return b.kind }

func (b *fakeBackend) ListIncidents(_ context.Context, q defender.ListQuery) (*defender.IncidentPage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lists = append(b.lists, q)
	if err := b.record("ListIncidents"); err != nil {
		return nil, err
	}
	start := 0
	if q.Cursor != "" {
		var err error
		if start, err = strconv.Atoi(q.Cursor); err != nil {
			return nil, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "bad cursor")
		}
	}
	end := min(start+q.PageSize, len(b.incidents))
	page := &defender.IncidentPage{}
	for _, in := range b.incidents[start:end] {
		if !q.WithAlerts {
			in.Alerts = nil
		}
		page.Incidents = append(page.Incidents, in)
	}
	if end < len(b.incidents) {
		page.NextCursor = strconv.Itoa(end)
	}
	return page, nil
}

func (b *fakeBackend) find(id string) (int, error) {
	i := slices.IndexFunc(b.incidents, func(in defender.Incident) bool { return in.ID == id })
	if i < 0 {
		return 0, defender.Errorf(defender.KindNotFound, defender.ReasonNotFound, "incident %s not found", id)
	}
	return i, nil
}

func (b *fakeBackend) GetIncident(_ context.Context, id string, withAlerts bool) (*defender.Incident, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gets = append(b.gets, withAlerts)
	if err := b.record("GetIncident"); err != nil {
		return nil, err
	}
	i, err := b.find(id)
	if err != nil {
		return nil, err
	}
	in := b.incidents[i]
	if !withAlerts {
		in.Alerts = nil
	}
	return &in, nil
}

func (b *fakeBackend) UpdateIncident(_ context.Context, id string, u defender.IncidentUpdate) (*defender.Incident, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.updates = append(b.updates, u)
	if err := b.record("UpdateIncident"); err != nil {
		return nil, err
	}
	i, err := b.find(id)
	if err != nil {
		return nil, err
	}
	in := &b.incidents[i]
	if u.Status != nil {
		in.Status = *u.Status
	}
	if u.AssignedTo != nil {
		in.AssignedTo = *u.AssignedTo
	}
	if u.Classification != nil {
		in.Classification = *u.Classification
	}
	if u.Determination != nil {
		in.Determination = *u.Determination
	}
	if u.Tags != nil {
		in.Tags = *u.Tags
	}
	if u.Comment != "" {
		in.Comments = append(in.Comments, defender.Comment{Text: u.Comment})
	}
	in.UpdateTime = in.UpdateTime.Add(time.Second)
	out := *in
	return &out, nil
}

func (b *fakeBackend) RunHuntingQuery(_ context.Context, q defender.HuntingQuery) (*defender.HuntingResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hunts = append(b.hunts, q)
	if err := b.record("RunHuntingQuery"); err != nil {
		return nil, err
	}
	return b.hunting, nil
}

// StreamHuntingQuery hands b.hunting to sink, as a backend decoding it
// would.
func (b *fakeBackend) StreamHuntingQuery(_ context.Context, q defender.HuntingQuery, sink defender.HuntingSink) error {
	b.mu.Lock()
	b.hunts = append(b.hunts, q)
	err := b.record("StreamHuntingQuery")
	res := b.hunting
	b.mu.Unlock()
	if err != nil {
		return err
	}
	if res == nil {
		return nil
	}
	if res.Stats != nil {
		if err := sink.Stats(res.Stats); err != nil {
			return err
		}
	}
	if err := sink.Columns(res.Columns); err != nil {
		return err
	}
	for _, r := range res.Rows {
		if err := sink.Row(r); err != nil {
			return err
		}
	}
	return nil
}

// callCount is how many backend calls were made.
func (b *fakeBackend) callCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls)
}

// newIncidentService serves backend with a fixed key and a clock the test
// can move.
func newIncidentService(t *testing.T, backend *fakeBackend) (*IncidentService, *time.Time) {
	t.Helper()
	svc := NewIncidentService(fakeResolver{backend: backend}, testCodec(t, 1), nil)
	now := baseTime
	svc.tokens.now = func() time.Time { return now }
	return svc, &now
}
