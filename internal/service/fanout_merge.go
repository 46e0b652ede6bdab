package service

import (
	"context"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// The merge of a listing across tenants (tenants/-).
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

// mergeTenant is one tenant of a merged listing, during one call.
type mergeTenant struct {
	tenant  string // canonical
	backend defender.Backend
	pos     tenantPosition

	buf     []defender.Incident // fetched at pos, not yet returned
	next    string              // the fetched page's NextCursor
	fetches int
	done    bool  // listed to its end
	stalled bool  // the fetch budget ran out before an incident was found
	err     error // this call's failure
}

// active reports whether the tenant still takes part in this call's merge.
func (t *mergeTenant) active() bool { return !t.done && t.err == nil }

// merger merges the tenants' listings into pages.
type merger struct {
	filter      defender.IncidentFilter
	withAlerts  bool
	concurrency int
}

// mergedIncident is one incident of a merged page, with its tenant.
type mergedIncident struct {
	tenant   string
	incident defender.Incident
}

// page returns up to size incidents of the tenants in merge order, and
// leaves each tenant's position, done, stalled and err for the next token.
// The first read of every tenant runs concurrently, at most m.concurrency
// at once; later reads are made one at a time, as the merge needs them.
func (m merger) page(ctx context.Context, tenants []*mergeTenant, size int) []mergedIncident {
	ctx, cancel := tenantsContext(ctx)
	defer cancel()
	m.fillAll(ctx, tenants, size)
	out := make([]mergedIncident, 0, size)
	for len(out) < size {
		var best *mergeTenant
		for _, t := range tenants {
			if !t.active() {
				continue
			}
			if len(t.buf) == 0 {
				// Stalled, or not yet refilled: its next incident is unknown,
				// so nothing can be placed after it.
				return out
			}
			if best == nil || mergeBefore(t, best) {
				best = t
			}
		}
		if best == nil {
			break
		}
		out = append(out, mergedIncident{tenant: best.tenant, incident: best.buf[0]})
		best.buf = best.buf[1:]
		best.pos.Skip++
		if len(best.buf) == 0 {
			if best.next == "" {
				best.done = true
				continue
			}
			best.pos = tenantPosition{Cursor: best.next}
			if len(out) < size {
				if ctx.Err() != nil {
					// The tenants' time is over: end the page here, and the
					// next call reads on from this position.
					return out
				}
				m.fill(ctx, best, size-len(out))
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
func (m merger) fillAll(ctx context.Context, tenants []*mergeTenant, need int) {
	sem := make(chan struct{}, max(m.concurrency, 1))
	var wg sync.WaitGroup
	for _, t := range tenants {
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
			m.fill(ctx, t, need)
		}()
	}
	wg.Wait()
}

// fill reads t from its position until it has an incident to offer (need
// more than its skip at most), reaches its end, fails or runs out of its
// fetch budget.
func (m merger) fill(ctx context.Context, t *mergeTenant, need int) {
	for {
		if t.fetches >= maxFanoutFetches {
			t.stalled = true
			return
		}
		t.fetches++
		page, err := t.backend.ListIncidents(ctx, defender.ListQuery{
			Filter:     m.filter,
			PageSize:   min(t.pos.Skip+need, maxFanoutPageSize),
			WithAlerts: m.withAlerts,
			Cursor:     t.pos.Cursor,
		})
		if err != nil {
			t.err = err
			return
		}
		var items []defender.Incident
		next := ""
		if page != nil {
			items, next = page.Incidents, page.NextCursor
		}
		if t.pos.Skip < len(items) {
			t.buf, t.next = items[t.pos.Skip:], next
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

// mergeBefore reports whether a's next incident comes before b's: created
// later, then the smaller tenant id, then the larger incident id.
func mergeBefore(a, b *mergeTenant) bool {
	x, y := &a.buf[0], &b.buf[0]
	if !x.CreateTime.Equal(y.CreateTime) {
		return x.CreateTime.After(y.CreateTime)
	}
	if a.tenant != b.tenant {
		return a.tenant < b.tenant
	}
	return idAfter(x.ID, y.ID)
}

// idAfter compares incident ids as the numbers they are (no leading
// zeros): the longer one is larger, else the text decides.
func idAfter(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}
