package service

import (
	"context"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// The merge of a listing across tenants (tenants/-): ListIncidents and
// ListAlerts, each through its fanoutList. Incidents are the example below;
// alerts are the same with string ids.
//
// Each tenant's incidents come from its backend in the order its upstream
// lists them: newest created first (XDR documents it; Graph's order is the
// service's, and the emulator's is the same). A k-way merge of those
// sequences by the same key — creation time descending, then tenant id
// ascending, then incident id descending — is one order across every page,
// so a listing neither repeats nor skips an incident at a page boundary.
//
// The page token keeps, per tenant, where its unreturned incidents start:
// the backend cursor of a page and how many incidents of the listing from
// that cursor were already returned ("skip"). The next call fetches from
// that cursor again and drops the skipped ones; nothing fetched but not
// returned is lost or repeated, at the cost of refetching up to one
// backend page per tenant. Fetching is lazy: every tenant still listing
// is read once (at most the page size past its skip), and a tenant's next
// page is fetched only when its buffer runs dry before the merged page is
// full.

// maxFanoutFetches bounds the backend pages one call reads from one tenant.
// A tenant that yields no incident within it (an XDR severity filter that
// rarely matches, each backend page itself bounded by 25 upstream calls)
// ends the merged page early, with a token that resumes where it stopped:
// nothing else can be returned before that tenant's next incident is
// known.
const maxFanoutFetches = 4

// tenantPosition is where a tenant's unreturned incidents start.
type tenantPosition struct {
	// Cursor is the backend cursor of the page they are on; "" is the
	// first page.
	Cursor string `json:"c,omitempty"`
	// Skip is how many incidents of the listing from Cursor were already
	// returned.
	Skip int `json:"k,omitempty"`
}

// mergeTenant is one tenant of a merged listing, during one call. Its
// fetched items are kept by the merger, which knows their type.
type mergeTenant struct {
	tenant  string // canonical
	backend defender.Backend
	pos     tenantPosition

	next    string // the fetched page's NextCursor
	fetches int
	done    bool  // listed to its end
	stalled bool  // the fetch budget ran out before an item was found
	err     error // this call's failure
}

// active reports whether the tenant still takes part in this call's merge.
func (t *mergeTenant) active() bool { return !t.done && t.err == nil }

// fanoutList is what the merge needs of one kind of listing (incidents,
// alerts): how to read a page of a tenant's items, and each item's merge
// key. Items of every kind are merged in one order: creation time
// descending, then tenant id ascending, then id descending by idAfter.
type fanoutList[T any] struct {
	// fetch reads up to size items of the tenant's listing from cursor.
	fetch func(ctx context.Context, b defender.Backend, cursor string, size int) (items []T, next string, err error)
	// key is the item's creation time and id.
	key func(*T) (time.Time, string)
	// idAfter reports whether id a comes before id b at equal time and
	// tenant: the larger one, as the kind's ids compare.
	idAfter func(a, b string) bool
}

// merger merges the tenants' listings into pages.
type merger[T any] struct {
	list        fanoutList[T]
	concurrency int
}

// mergedItem is one item of a merged page, with its tenant.
type mergedItem[T any] struct {
	tenant string
	item   T
}

// page returns up to size items of the tenants in merge order, and
// leaves each tenant's position, done, stalled and err for the next token.
// The first read of every tenant runs concurrently, at most m.concurrency
// at once; later reads are made one at a time, as the merge needs them.
func (m merger[T]) page(ctx context.Context, tenants []*mergeTenant, size int) []mergedItem[T] {
	ctx, cancel := tenantsContext(ctx)
	defer cancel()
	bufs := make([][]T, len(tenants)) // fetched at each tenant's pos, not yet returned
	m.fillAll(ctx, tenants, bufs, size)
	out := make([]mergedItem[T], 0, size)
	for len(out) < size {
		best := -1
		for i, t := range tenants {
			if !t.active() {
				continue
			}
			if len(bufs[i]) == 0 {
				// Stalled, or not yet refilled: its next item is unknown,
				// so nothing can be placed after it.
				return out
			}
			if best < 0 || m.before(t, &bufs[i][0], tenants[best], &bufs[best][0]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		t := tenants[best]
		out = append(out, mergedItem[T]{tenant: t.tenant, item: bufs[best][0]})
		bufs[best] = bufs[best][1:]
		t.pos.Skip++
		if len(bufs[best]) == 0 {
			if t.next == "" {
				t.done = true
				continue
			}
			t.pos = tenantPosition{Cursor: t.next}
			if len(out) < size {
				if ctx.Err() != nil {
					// The tenants' time is over: end the page here, and the
					// next call reads on from this position.
					return out
				}
				m.fill(ctx, t, &bufs[best], size-len(out))
			}
		}
	}
	return out
}

// tenantReserve is the share of the call's remaining time kept back from
// the tenants' reads, so that a tenant still waiting (for its quota, or a
// slow upstream) when it is over becomes unreachable and the call still
// answers with the others, instead of every tenant failing with the
// caller's deadline.
const tenantReserve = 10 // percent

// tenantsContext is ctx with a deadline tenantReserve percent earlier than
// ctx's, when it has one.
func tenantsContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	left := time.Until(deadline)
	return context.WithDeadline(ctx, deadline.Add(-left*tenantReserve/100))
}

// fillAll reads every active tenant once, concurrently.
func (m merger[T]) fillAll(ctx context.Context, tenants []*mergeTenant, bufs [][]T, need int) {
	sem := make(chan struct{}, max(m.concurrency, 1))
	var wg sync.WaitGroup
	for i, t := range tenants {
		if !t.active() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				t.err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			m.fill(ctx, t, &bufs[i], need)
		}()
	}
	wg.Wait()
}

// fill reads t from its position into buf until it has an item to offer
// (need more than its skip at most), reaches its end, fails or runs out of
// its fetch budget.
func (m merger[T]) fill(ctx context.Context, t *mergeTenant, buf *[]T, need int) {
	for {
		if t.fetches >= maxFanoutFetches {
			t.stalled = true
			return
		}
		t.fetches++
		items, next, err := m.list.fetch(ctx, t.backend, t.pos.Cursor, min(t.pos.Skip+need, maxFanoutPageSize))
		if err != nil {
			t.err = err
			return
		}
		if t.pos.Skip < len(items) {
			*buf, t.next = items[t.pos.Skip:], next
			return
		}
		if next == "" {
			t.done = true
			return
		}
		t.pos = tenantPosition{Cursor: next, Skip: t.pos.Skip - len(items)}
	}
}

// maxFanoutPageSize is the largest backend page the merge asks for: the
// backends' own limit.
const maxFanoutPageSize = 500

// before reports whether x, the next item of tenant a, comes before y, that
// of b: created later, then the smaller tenant id, then the larger id.
func (m merger[T]) before(a *mergeTenant, x *T, b *mergeTenant, y *T) bool {
	xt, xid := m.list.key(x)
	yt, yid := m.list.key(y)
	if !xt.Equal(yt) {
		return xt.After(yt)
	}
	if a.tenant != b.tenant {
		return a.tenant < b.tenant
	}
	return m.list.idAfter(xid, yid)
}

// incidentList is the merge of incidents: ids compare as numbers.
func incidentList(filter defender.IncidentFilter, withAlerts bool) fanoutList[defender.Incident] {
	return fanoutList[defender.Incident]{
		fetch: func(ctx context.Context, b defender.Backend, cursor string, size int) ([]defender.Incident, string, error) {
			page, err := b.ListIncidents(ctx, defender.ListQuery{Filter: filter, PageSize: size, WithAlerts: withAlerts, Cursor: cursor})
			if err != nil || page == nil {
				return nil, "", err
			}
			return page.Incidents, page.NextCursor, nil
		},
		key:     func(i *defender.Incident) (time.Time, string) { return i.CreateTime, i.ID },
		idAfter: idAfter,
	}
}

// idAfter compares incident ids as the numbers they are (no leading
// zeros): the longer one is larger, else the text decides.
func idAfter(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}
