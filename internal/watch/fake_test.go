package watch

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// fakeBackend is an in-memory upstream: incidents listed by UpdatedFrom
// (inclusive, at the fake's precision), paged by Cursor and PageSize (at
// most maxPage a page when set), with or without their alerts, and read one
// by one with GetIncident. Errors are injected per call kind; every call is
// counted.
type fakeBackend struct {
	defender.Backend // the hunting and update calls are not used

	mu        sync.Mutex
	incidents map[string]defender.Incident
	// precision truncates the listing's UpdatedFrom, as an upstream that
	// filters at a coarser precision than it was asked.
	precision time.Duration
	maxPage   int
	// endless answers every page full and with a next cursor.
	endless bool

	listErr func(q defender.ListQuery) error
	getErr  func(id string, withAlerts bool) error
	onList  func(q defender.ListQuery) // called after a page is read

	lists, listsWithAlerts, gets int
	getIDs                       []string
	froms                        []time.Time
	notFresh                     int // calls without WithFreshRead
	values                       []any
}

type valueKey struct{}

func newFake(incs ...defender.Incident) *fakeBackend {
	f := &fakeBackend{incidents: make(map[string]defender.Incident)}
	f.put(incs...)
	return f
}

func (f *fakeBackend) Kind() defender.BackendKind { return defender.BackendGraph }

func (f *fakeBackend) put(incs ...defender.Incident) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, inc := range incs {
		f.incidents[inc.ID] = inc
	}
}

func (f *fakeBackend) setListErr(fn func(q defender.ListQuery) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listErr = fn
}

func (f *fakeBackend) setGetErr(fn func(id string, withAlerts bool) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.getErr = fn
}

type counts struct{ lists, listsWithAlerts, gets int }

func (f *fakeBackend) counts() counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return counts{f.lists, f.listsWithAlerts, f.gets}
}

func (f *fakeBackend) lastFrom() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.froms) == 0 {
		return time.Time{}
	}
	return f.froms[len(f.froms)-1]
}

func (f *fakeBackend) record(ctx context.Context) {
	if !defender.FreshRead(ctx) {
		f.notFresh++
	}
	f.values = append(f.values, ctx.Value(valueKey{}))
}

func (f *fakeBackend) ListIncidents(ctx context.Context, q defender.ListQuery) (*defender.IncidentPage, error) {
	f.mu.Lock()
	f.lists++
	if q.WithAlerts {
		f.listsWithAlerts++
	}
	f.froms = append(f.froms, q.Filter.UpdatedFrom)
	f.record(ctx)
	if err := ctx.Err(); err != nil {
		f.mu.Unlock()
		return nil, defender.Errorf(defender.KindCanceled, "", "canceled")
	}
	if f.listErr != nil {
		if err := f.listErr(q); err != nil {
			f.mu.Unlock()
			return nil, err
		}
	}
	size := q.PageSize
	if f.maxPage > 0 && f.maxPage < size {
		size = f.maxPage
	}
	page := &defender.IncidentPage{}
	if f.endless {
		for i := range size {
			page.Incidents = append(page.Incidents, defender.Incident{ID: q.Cursor + "-" + strconv.Itoa(i), UpdateTime: q.Filter.UpdatedFrom})
		}
		page.NextCursor = q.Cursor + "x"
		f.mu.Unlock()
		return page, nil
	}
	from := q.Filter.UpdatedFrom
	if f.precision > 0 {
		from = from.Truncate(f.precision)
	}
	var all []defender.Incident
	for _, inc := range f.incidents {
		if !inc.UpdateTime.Before(from) {
			if !q.WithAlerts {
				inc.Alerts = nil
			}
			all = append(all, inc)
		}
	}
	slices.SortFunc(all, func(a, b defender.Incident) int { return cmp.Compare(a.ID, b.ID) })
	start := 0
	if q.Cursor != "" {
		start, _ = strconv.Atoi(q.Cursor)
	}
	end := min(start+size, len(all))
	page.Incidents = all[start:end]
	if end < len(all) {
		page.NextCursor = strconv.Itoa(end)
	}
	onList := f.onList
	f.mu.Unlock()
	if onList != nil {
		onList(q)
	}
	return page, nil
}

func (f *fakeBackend) GetIncident(ctx context.Context, id string, withAlerts bool) (*defender.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	f.getIDs = append(f.getIDs, id)
	f.record(ctx)
	if f.getErr != nil {
		if err := f.getErr(id, withAlerts); err != nil {
			return nil, err
		}
	}
	inc, ok := f.incidents[id]
	if !ok {
		return nil, defender.Errorf(defender.KindNotFound, "", "no incident %s", id)
	}
	if !withAlerts {
		inc.Alerts = nil
	}
	return &inc, nil
}

// clock is an injected Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

var t0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

// at is t0 plus s seconds.
func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// inc is an incident created at c and updated at u (seconds after t0).
func inc(id string, c, u float64) defender.Incident {
	return defender.Incident{ID: id, Status: defender.StatusActive, CreateTime: at(c), UpdateTime: at(u)}
}

func upstream500() error {
	return &defender.Error{Kind: defender.KindUnavailable, Reason: "UPSTREAM_UNAVAILABLE", Message: "upstream failed", UpstreamStatus: 500}
}
