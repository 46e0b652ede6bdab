package quota

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// Options configure a FairScheduler.
type Options struct {
	// Store holds the limiters and holds (required).
	Store Store
	// Budgets are the windows per tenant, backend and family.
	Budgets Budgets
	// Clock is SystemClock when nil.
	Clock  Clock
	Logger *slog.Logger
	// InteractiveShare is the part of the whole API's burst that bulk
	// calls may not take (0.2).
	InteractiveShare float64
	// MaxWait caps how long a call queues whatever its deadline (30s).
	MaxWait time.Duration
	// MaxQueued caps the calls queued per tenant and backend (1000).
	MaxQueued int
	// DefaultHold is the hold of a 429 that names no wait (60s); a
	// hunting hold without a wait lasts until the next 15-minute cycle.
	DefaultHold time.Duration
}

// Defaults of the options left zero.
const (
	DefaultInteractiveShare = 0.2
	DefaultMaxWait          = 30 * time.Second
	DefaultMaxQueued        = 1000
	DefaultHoldDuration     = 60 * time.Second
	// huntingCycle is the advanced hunting CPU quota's cycle.
	huntingCycle = 15 * time.Minute
	// deadlineMargin is kept between admission and the caller's deadline,
	// for the upstream request itself.
	deadlineMargin = 100 * time.Millisecond
)

// FairScheduler is the Scheduler: per tenant and backend, a queue per
// caller served round-robin (deficit round-robin with unit costs),
// interactive families first, with deadline-aware admission.
type FairScheduler struct {
	o     Options
	log   *slog.Logger
	clock Clock

	mu     sync.Mutex
	lanes  map[laneKey]*lane
	closed bool
	wg     sync.WaitGroup
}

var _ Scheduler = (*FairScheduler)(nil)

// NewScheduler returns a FairScheduler; the zero options take their
// defaults.
func NewScheduler(o Options) *FairScheduler {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.InteractiveShare < 0 || o.InteractiveShare >= 1 {
		o.InteractiveShare = DefaultInteractiveShare
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.DefaultHold <= 0 {
		o.DefaultHold = DefaultHoldDuration
	}
	return &FairScheduler{o: o, log: o.Logger, clock: o.Clock, lanes: map[laneKey]*lane{}}
}

type laneKey struct{ tenant, backend string }

func (s *FairScheduler) shuttingDown() error {
	return &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonShuttingDown,
		Message: "the gateway is shutting down"}
}

// Admit returns when c may go upstream (see Scheduler).
func (s *FairScheduler) Admit(ctx context.Context, c Call) error {
	c.Tenant = strings.ToLower(c.Tenant)
	if err := ctx.Err(); err != nil {
		return ctxError(err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.shuttingDown()
	}
	k := laneKey{c.Tenant, c.Backend}
	l := s.lanes[k]
	if l == nil {
		if len(s.lanes) >= laneSweepAt {
			s.sweepLanes(s.clock.Now())
		}
		l = newLane(s, c.Tenant, c.Backend)
		s.lanes[k] = l
	}
	l.users++
	s.mu.Unlock()
	defer s.release(l)

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return s.shuttingDown()
	}
	now := s.clock.Now()
	l.lastUsed = now
	est, err := l.estimate(ctx, c, now)
	if err != nil {
		l.mu.Unlock()
		return storeError(ctx, err)
	}
	if est == 0 && l.queued == 0 {
		ok, err := l.tryTake(ctx, c)
		if err != nil {
			l.mu.Unlock()
			return storeError(ctx, err)
		}
		if ok {
			l.mu.Unlock()
			return nil
		}
		if est, err = l.estimate(ctx, c, now); err != nil {
			l.mu.Unlock()
			return storeError(ctx, err)
		}
		est = max(est, time.Millisecond)
	}
	limit, expires := s.o.MaxWait, now.Add(s.o.MaxWait)
	if d, ok := ctx.Deadline(); ok {
		limit = min(limit, d.Sub(now)-deadlineMargin)
		expires = minTime(expires, d.Add(-deadlineMargin))
	}
	if est > limit {
		l.mu.Unlock()
		s.log.Debug("quota: refused at once", "tenant", c.Tenant, "backend", c.Backend, "family", c.Family,
			"caller", c.Caller, "estimate", est)
		return exhausted(est)
	}
	if l.queued >= s.o.MaxQueued {
		l.mu.Unlock()
		return &defender.Error{Kind: defender.KindThrottled, Reason: defender.ReasonQuotaExhausted,
			Message: "too many calls are queued for this tenant's upstream quota; retry later", RetryAfter: max(est, time.Second)}
	}
	w := l.enqueue(c, expires)
	l.startDispatcher()
	l.mu.Unlock()

	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		l.mu.Lock()
		removed := l.remove(w)
		l.mu.Unlock()
		if removed {
			l.wake()
			return ctxError(ctx.Err())
		}
		return <-w.done
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// release drops a use of lane l.
func (s *FairScheduler) release(l *lane) {
	s.mu.Lock()
	l.users--
	s.mu.Unlock()
}

// laneIdle is how long an unused lane is kept; laneSweepAt the lanes
// beyond which creating one sweeps the idle ones.
const (
	laneIdle    = 10 * time.Minute
	laneSweepAt = 256
)

// sweepLanes forgets the lanes nothing uses, nothing waits in and no
// dispatcher runs for, idle for laneIdle. s.mu is held.
func (s *FairScheduler) sweepLanes(now time.Time) {
	for k, l := range s.lanes {
		l.mu.Lock()
		idle := l.users == 0 && l.queued == 0 && !l.running && now.Sub(l.lastUsed) > laneIdle
		l.mu.Unlock()
		if idle {
			delete(s.lanes, k)
		}
	}
}

// Throttled holds c's family (or, for HoldTenant, every family of c's
// tenant and backend) until retryAfter has passed.
func (s *FairScheduler) Throttled(c Call, scope HoldScope, retryAfter time.Duration) {
	c.Tenant = strings.ToLower(c.Tenant)
	now := s.clock.Now()
	wait := retryAfter
	if wait <= 0 {
		wait = s.o.DefaultHold
		if c.Family == FamilyHunting {
			// The hunting CPU quota renews every 15 minutes.
			next := now.Truncate(huntingCycle).Add(huntingCycle)
			wait = next.Sub(now)
		}
	}
	key := holdKey(c.Tenant, c.Backend, c.Family)
	if scope == HoldTenant {
		key = holdKey(c.Tenant, c.Backend, "")
	}
	until := now.Add(wait)
	if err := s.o.Store.Hold(context.Background(), key, until); err != nil {
		s.log.Error("quota: storing a hold failed", "tenant", c.Tenant, "backend", c.Backend, "error", err)
	}
	s.log.Warn("quota: upstream throttled, holding", "tenant", c.Tenant, "backend", c.Backend, "family", c.Family,
		"scope", scopeName(scope), "wait", wait, "until", until)
	s.mu.Lock()
	l := s.lanes[laneKey{c.Tenant, c.Backend}]
	s.mu.Unlock()
	if l != nil {
		l.wake()
	}
}

func scopeName(s HoldScope) string {
	if s == HoldTenant {
		return "tenant"
	}
	return "family"
}

// Close drains the scheduler: every queued call fails with
// SHUTTING_DOWN, as every later Admit does; it returns when the
// dispatchers have exited.
func (s *FairScheduler) Close() {
	s.mu.Lock()
	s.closed = true
	lanes := make([]*lane, 0, len(s.lanes))
	for _, l := range s.lanes {
		lanes = append(lanes, l)
	}
	s.mu.Unlock()
	for _, l := range lanes {
		l.mu.Lock()
		l.closed = true
		l.failAll(s.shuttingDown())
		l.mu.Unlock()
		l.wake()
	}
	s.wg.Wait()
}

// State returns one BudgetState per family and window of tenant and
// backend, then the whole API's (Family FamilyWholeAPI).
func (s *FairScheduler) State(ctx context.Context, tenant, backend string) ([]BudgetState, error) {
	tenant = strings.ToLower(tenant)
	b := s.o.Budgets.For(tenant, backend)
	queued := map[Family]int{}
	total := 0
	s.mu.Lock()
	l := s.lanes[laneKey{tenant, backend}]
	s.mu.Unlock()
	if l != nil {
		l.mu.Lock()
		for _, q := range l.callers {
			for _, w := range q.waiters {
				queued[w.call.Family]++
				total++
			}
		}
		l.mu.Unlock()
	}
	tenantHold, err := s.o.Store.Held(ctx, holdKey(tenant, backend, ""))
	if err != nil {
		return nil, storeError(ctx, err)
	}
	shared := s.o.Store.Shared()
	var out []BudgetState
	add := func(f Family, ws []Window, held time.Time, n int) error {
		for _, w := range ws {
			lim := SafeLimit(w.Count, w.Per)
			r, err := s.o.Store.Peek(ctx, limiterKey(tenant, backend, f, w), lim)
			if err != nil {
				return err
			}
			out = append(out, BudgetState{Family: f, Window: w.Per, Limit: w.Count,
				Remaining: r.Remaining, ResetAfter: max(0, r.ResetAfter), HeldUntil: held, Queued: n, Shared: shared})
		}
		return nil
	}
	for _, f := range Families {
		held, err := s.o.Store.Held(ctx, holdKey(tenant, backend, f))
		if err != nil {
			return nil, storeError(ctx, err)
		}
		if tenantHold.After(held) {
			held = tenantHold
		}
		if err := add(f, b.Families[f], held, queued[f]); err != nil {
			return nil, storeError(ctx, err)
		}
	}
	if err := add(FamilyWholeAPI, b.WholeAPI, tenantHold, total); err != nil {
		return nil, storeError(ctx, err)
	}
	return out, nil
}

// holdKey is a hold's Store key; family "" is the tenant-wide hold.
func holdKey(tenant, backend string, f Family) string {
	if f == "" {
		return "hold/" + tenant + "/" + backend
	}
	return "hold/" + tenant + "/" + backend + "/" + string(f)
}

// limiterKey is a window's Store key.
func limiterKey(tenant, backend string, f Family, w Window) string {
	return "gcra/" + tenant + "/" + backend + "/" + string(f) + "/" + w.Per.String()
}

// exhausted is the fail-fast error; RetryAfter is at least 1ms, as a
// zero would read as unknown.
func exhausted(est time.Duration) error {
	return &defender.Error{Kind: defender.KindThrottled, Reason: defender.ReasonQuotaExhausted,
		Message: "the tenant's upstream quota is used up; retry later", RetryAfter: max(est, time.Millisecond)}
}

// ctxError maps a context's error as the defender package does.
func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &defender.Error{Kind: defender.KindDeadlineExceeded, Reason: defender.ReasonDeadlineExceeded,
			Message: "the deadline passed while waiting for upstream quota"}
	}
	return &defender.Error{Kind: defender.KindCanceled, Reason: defender.ReasonCanceled,
		Message: "the call was canceled while waiting for upstream quota"}
}

// storeError is a Store failure, as the caller sees it.
func storeError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctxError(ctx.Err())
	}
	return &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonUnavailable,
		Message: "the quota state is unavailable"}
}
