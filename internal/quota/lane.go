package quota

import (
	"context"
	"math"
	"sync"
	"time"
)

// lane is the queue of one tenant and backend: a FIFO per caller and
// class (interactive or bulk), served round-robin, interactive first. It
// has at most one dispatcher goroutine, running while calls are queued.
type lane struct {
	s               *FairScheduler
	tenant, backend string
	// plans are each family's Store keys and limits, whole the whole
	// API's, tenantHold the tenant-wide hold's key (computed once).
	plans      map[Family]famPlan
	whole      []window
	tenantHold string

	// mu guards what follows; the scheduler's mu is taken before it.
	mu sync.Mutex
	// callers holds each (caller, class) queue; rings[class] the round-robin
	// order of the non-empty ones, next[class] where the next turn starts.
	callers map[callerKey]*callerQueue
	rings   [2][]callerKey
	next    [2]int
	queued  int
	users   int
	// lastUsed is the last Admit's time, for sweepLanes.
	lastUsed time.Time
	running  bool
	closed   bool
	wakeCh   chan struct{}
}

type callerKey struct {
	caller string
	bulk   bool
}

func classOf(f Family) int {
	if Interactive(f) {
		return 0
	}
	return 1
}

type callerQueue struct {
	waiters []*waiter
}

type waiter struct {
	call Call
	key  callerKey
	// expires is when the call has queued DEFENDER_QUOTA_MAX_WAIT, or
	// when its deadline leaves less than deadlineMargin, whichever is
	// first: from then on, admitting it would spend a unit on a request
	// that cannot finish in time.
	expires time.Time
	done    chan error
}

// window is one budget window's limiter: its Store key and GCRA.
type window struct {
	key string
	lim Limit
}

type famPlan struct {
	hold    string
	windows []window
}

func windows(tenant, backend string, f Family, ws []Window) []window {
	out := make([]window, len(ws))
	for i, w := range ws {
		out[i] = window{key: limiterKey(tenant, backend, f, w), lim: SafeLimit(w.Count, w.Per)}
	}
	return out
}

func newLane(s *FairScheduler, tenant, backend string) *lane {
	b := s.o.Budgets.For(tenant, backend)
	l := &lane{s: s, tenant: tenant, backend: backend, plans: map[Family]famPlan{},
		whole:      windows(tenant, backend, FamilyWholeAPI, b.WholeAPI),
		tenantHold: holdKey(tenant, backend, ""),
		callers:    map[callerKey]*callerQueue{}, wakeCh: make(chan struct{}, 1)}
	for _, f := range Families {
		l.plans[f] = famPlan{hold: holdKey(tenant, backend, f), windows: windows(tenant, backend, f, b.Families[f])}
	}
	return l
}

// plan is f's plan; a family without a budget has no windows.
func (l *lane) plan(f Family) famPlan {
	p, ok := l.plans[f]
	if !ok {
		p = famPlan{hold: holdKey(l.tenant, l.backend, f)}
	}
	return p
}

// wake nudges the dispatcher: a call arrived or left, or a hold changed.
func (l *lane) wake() {
	select {
	case l.wakeCh <- struct{}{}:
	default:
	}
}

// fairAhead estimates the calls that go before a new call of c under
// round-robin: c's caller's own queued calls, and from every other
// caller at most one more than that; only waiters match counts.
func (l *lane) fairAhead(c Call, match func(w *waiter) bool) int {
	counts := map[string]int{}
	for _, q := range l.callers {
		for _, w := range q.waiters {
			if match(w) {
				counts[w.call.Caller]++
			}
		}
	}
	mine := counts[c.Caller]
	ahead := mine
	for caller, n := range counts {
		if caller != c.Caller {
			ahead += min(n, mine+1)
		}
	}
	return ahead
}

// estimate is how long until a new call c would be admitted: the holds,
// and for each window the time until enough cells are free for c and
// the calls ahead of it (bulk calls leave the interactive reserve).
func (l *lane) estimate(ctx context.Context, c Call, now time.Time) (time.Duration, error) {
	family := func(w *waiter) bool { return w.call.Family == c.Family }
	aheadFam := l.fairAhead(c, family)
	var aheadAll int
	if Interactive(c.Family) {
		aheadAll = l.fairAhead(c, func(w *waiter) bool { return Interactive(w.call.Family) })
	} else {
		for _, q := range l.callers {
			if !q.waiters[0].key.bulk {
				aheadAll += len(q.waiters)
			}
		}
		aheadAll += l.fairAhead(c, func(w *waiter) bool { return w.key.bulk })
	}
	return l.readyIn(ctx, c, now, aheadFam, aheadAll)
}

// readyIn is the time until c could take a unit of every window with
// aheadFam calls of its family and aheadAll of the whole API before it.
func (l *lane) readyIn(ctx context.Context, c Call, now time.Time, aheadFam, aheadAll int) (time.Duration, error) {
	st := l.s.o.Store
	p := l.plan(c.Family)
	var wait time.Duration
	for _, key := range [2]string{p.hold, l.tenantHold} {
		until, err := st.Held(ctx, key)
		if err != nil {
			return 0, err
		}
		if !until.IsZero() {
			wait = max(wait, until.Sub(now))
		}
	}
	// The store may answer under another limit than asked (a local share
	// while Redis is lost): the estimates use the one it applied.
	for _, w := range p.windows {
		r, err := st.Peek(ctx, w.key, w.lim)
		if err != nil {
			return 0, err
		}
		wait = max(wait, cellsIn(r, r.Under(w.lim), aheadFam+1))
	}
	for _, w := range l.whole {
		r, err := st.Peek(ctx, w.key, w.lim)
		if err != nil {
			return 0, err
		}
		lim := r.Under(w.lim)
		need := aheadAll + 1
		if !Interactive(c.Family) {
			need += l.s.reserve(lim)
		}
		wait = max(wait, cellsIn(r, lim, need))
	}
	return max(wait, 0), nil
}

// reserve is the cells of a whole-API window bulk calls leave free.
func (s *FairScheduler) reserve(lim Limit) int {
	r := int(math.Ceil(s.o.InteractiveShare * float64(lim.Burst)))
	return min(r, lim.Burst-1)
}

// cellsIn is the time until a GCRA that Peek answered r holds need free
// cells (taking one per call as they free): its theoretical arrival time
// (now + ResetAfter) less burst-need emission intervals.
func cellsIn(r Result, lim Limit, need int) time.Duration {
	if r.Remaining >= need {
		return 0
	}
	interval := lim.Per / time.Duration(lim.Rate)
	return max(0, r.ResetAfter-time.Duration(lim.Burst-need)*interval)
}

// tryTake takes a unit of every window of c's family and of the whole
// API when all are free (peek all, then allow all). False means retry
// later; a refused Allow after the peeks (another replica) keeps the
// units already taken, which only errs on the safe side.
func (l *lane) tryTake(ctx context.Context, c Call) (bool, error) {
	wait, err := l.readyIn(ctx, c, l.s.clock.Now(), 0, 0)
	if err != nil || wait > 0 {
		return false, err
	}
	st := l.s.o.Store
	take := func(ws []window) (bool, error) {
		for _, w := range ws {
			r, err := st.Allow(ctx, w.key, w.lim)
			if err != nil || r.Allowed == 0 {
				return false, err
			}
		}
		return true, nil
	}
	if ok, err := take(l.plan(c.Family).windows); !ok || err != nil {
		return false, err
	}
	return take(l.whole)
}

// startDispatcher starts the dispatcher unless it runs.
func (l *lane) startDispatcher() {
	if l.running {
		return
	}
	l.running = true
	l.s.wg.Add(1)
	go l.dispatch()
}

// retryRefused is the pause after an Allow refused past its Peek.
const retryRefused = 10 * time.Millisecond

// dispatch admits queued calls as capacity frees, interactive first and
// round-robin over callers, sleeping until the next cell frees or a wake;
// it exits when the queue is empty.
func (l *lane) dispatch() {
	defer l.s.wg.Done()
	ctx := context.Background()
	for {
		l.mu.Lock()
		if l.closed || l.queued == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		sleep, granted := l.turn(ctx)
		l.mu.Unlock()
		if granted {
			continue
		}
		t := l.s.clock.NewTimer(sleep)
		select {
		case <-t.C():
		case <-l.wakeCh:
			t.Stop()
		}
	}
}

// turn admits one call if any can go, else returns how long to sleep.
func (l *lane) turn(ctx context.Context) (time.Duration, bool) {
	now := l.s.clock.Now()
	sleep := l.expire(ctx, now)
	if l.queued == 0 {
		return 0, false
	}
	tried := map[Family]bool{}
	for cl := range 2 {
		ring := l.rings[cl]
		for i := range ring {
			idx := (l.next[cl] + i) % len(ring)
			k := ring[idx]
			w := l.callers[k].waiters[0]
			if tried[w.call.Family] {
				continue
			}
			tried[w.call.Family] = true
			wait, err := l.readyIn(ctx, w.call, now, 0, 0)
			if err != nil {
				l.s.log.Error("quota: reading the quota state failed", "tenant", l.tenant, "backend", l.backend, "error", err)
				wait = time.Second
			}
			if wait == 0 {
				ok, err := l.tryTake(ctx, w.call)
				if err == nil && ok {
					l.grant(cl, idx, w)
					return 0, true
				}
				wait = retryRefused
			}
			sleep = min(sleep, wait)
		}
	}
	return sleep, false
}

// expire fails the calls that have queued MaxWait, or whose deadline no
// longer leaves deadlineMargin (calls that arrived later went first:
// interactive ones, or other callers' turns; or the dispatcher ran late),
// and returns the time until the next one expires.
func (l *lane) expire(ctx context.Context, now time.Time) time.Duration {
	var expired []*waiter
	next := time.Duration(math.MaxInt64)
	for _, q := range l.callers {
		for _, w := range q.waiters {
			if now.After(w.expires) {
				expired = append(expired, w)
			} else {
				next = min(next, w.expires.Sub(now)+time.Nanosecond)
			}
		}
	}
	for _, w := range expired {
		l.remove(w)
		est, err := l.estimate(ctx, w.call, now)
		if err != nil {
			est = 0
		}
		w.done <- exhausted(est)
	}
	return next
}

// grant admits w, the head of ring[cl][idx], and passes the turn on.
func (l *lane) grant(cl, idx int, w *waiter) {
	q := l.callers[w.key]
	q.waiters = q.waiters[1:]
	l.queued--
	w.done <- nil
	if len(q.waiters) == 0 {
		l.next[cl] = idx
		l.dropCaller(w.key)
		return
	}
	l.next[cl] = (idx + 1) % len(l.rings[cl])
}
