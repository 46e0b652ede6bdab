package watch

import (
	"context"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// feed is one key's poller and its subscriptions on this replica. Without
// a shared store it polls itself; with one it polls only while it holds
// the key's lease, and delivers the rounds read back from the store.
type feed struct {
	h   *Hub
	key Key
	p   *poller

	ctx    context.Context // cancelled by stop
	cancel context.CancelFunc

	// ready is closed once every round from then on reaches the
	// subscriptions: at once when polling locally; with a shared store,
	// once the reader found the end of the round stream (or the feed
	// stopped).
	ready     chan struct{}
	readyOnce sync.Once

	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	src    Source
	pos    time.Time // the watermark of the last round delivered
	state  State     // the poller's, when polling locally
	failed bool
}

func newFeed(h *Hub, key Key, src Source) *feed {
	ctx, cancel := context.WithCancel(context.Background())
	f := &feed{
		h: h, key: key, ctx: ctx, cancel: cancel,
		subs:  make(map[*Subscription]struct{}),
		src:   src,
		pos:   h.o.Now().Add(-h.o.Timing.Delay),
		ready: make(chan struct{}),
	}
	if h.o.Shared == nil {
		f.markReady()
	}
	f.p = &poller{timing: h.o.Timing, withAlerts: key.Alerts, subject: key.Subject, now: h.o.Now, onFallback: func(err error) {
		h.log.Warn("watch: listing incidents with their alerts failed upstream; reading each changed incident's alerts on its own",
			"tenant", key.Tenant, "retry_in", h.o.Timing.ExpandRetry.String(), "error", err)
	}}
	// The poller starts where the first subscription starts, so that no
	// change made after it subscribed can fall before the first round.
	f.state.Watermark = f.pos
	return f
}

// add registers sub; src, the newest watcher's, is what later rounds use
// (in a user context, the freshest credentials of that user).
func (f *feed) add(sub *Subscription, src Source) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[sub] = struct{}{}
	f.src = src
	if f.failed {
		sub.err = ErrClosed
	}
}

// drop removes sub and reports whether it was the last.
func (f *feed) drop(sub *Subscription) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, sub)
	return len(f.subs) == 0
}

// position is where a subscription without a since starts.
func (f *feed) position() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pos
}

func (f *feed) source() Source {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.src
}

func (f *feed) stop() { f.cancel() }

func (f *feed) markReady() { f.readyOnce.Do(func() { close(f.ready) }) }

// deliver hands r to every subscription.
func (f *feed) deliver(r Round) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.After.After(f.pos) {
		f.pos = r.After
	}
	for sub := range f.subs {
		sub.deliver(r)
	}
}

// fail ends every subscription with err and stops the feed; a later
// subscription for the key starts a new one.
func (f *feed) fail(err error) {
	f.h.mu.Lock()
	if f.h.feeds[f.key] == f {
		delete(f.h.feeds, f.key)
	}
	f.h.mu.Unlock()
	f.mu.Lock()
	f.failed = true
	for sub := range f.subs {
		sub.fail(err)
	}
	f.mu.Unlock()
	f.stop()
}

// run polls until the feed stops.
func (f *feed) run() {
	if f.h.o.Shared != nil {
		f.runShared()
		return
	}
	f.h.o.Metrics.PollerStarted(f.key.Tenant)
	defer f.h.o.Metrics.PollerStopped(f.key.Tenant)
	timer := time.NewTimer(f.h.o.Timing.Interval)
	defer timer.Stop()
	for {
		r, next, err := f.poll(f.state)
		switch {
		case err == nil:
			f.state = next
			f.deliver(r)
		case f.ctx.Err() != nil:
			return
		default:
			if f.roundFailed(err) {
				return
			}
		}
		timer.Reset(f.h.o.Timing.Interval)
		select {
		case <-f.ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// poll runs one round from st with the newest watcher's source, bounded by
// the round timeout and by the feed's life.
func (f *feed) poll(st State) (Round, State, error) {
	src := f.source()
	ctx, cancel := context.WithTimeout(defender.WithFreshRead(valuesOf(f.ctx, src.Values)), f.h.o.RoundTimeout)
	defer cancel()
	r, next, err := f.p.round(ctx, src.Backend, st)
	f.h.o.Metrics.WatchPoll(f.key.Tenant, pollOutcome(err, f.p.fellBack))
	return r, next, err
}

// pollOutcome names a round's outcome for the metrics: ok, fallback (the
// alerts were read per incident), throttled (the quota or the upstream
// refused it) or error.
func pollOutcome(err error, fellBack bool) string {
	if err == nil {
		if fellBack {
			return "fallback"
		}
		return "ok"
	}
	if e, ok := defender.AsError(err); ok && (e.Kind == defender.KindThrottled || e.Reason == defender.ReasonQuotaExhausted) {
		return "throttled"
	}
	return "error"
}

// roundFailed logs a failed round and reports whether it ends the feed: a
// failure that retrying cannot fix (the upstream or the policy refuses the
// read, the gateway's credentials are rejected) ends every subscription
// with it; any other is retried at the next interval.
func (f *feed) roundFailed(err error) bool {
	if permanent(err) {
		f.h.log.Warn("watch: polling failed for good; ending its watches", "tenant", f.key.Tenant, "error", err)
		f.fail(err)
		return true
	}
	f.h.log.Warn("watch: a polling round failed; retrying at the next interval", "tenant", f.key.Tenant, "error", err)
	return false
}

func permanent(err error) bool {
	e, ok := defender.AsError(err)
	if !ok {
		return false
	}
	switch e.Kind {
	case defender.KindPermissionDenied, defender.KindUnauthenticated, defender.KindUpstreamAuth,
		defender.KindInvalidArgument, defender.KindNotFound, defender.KindUnimplemented, defender.KindFailedPrecondition:
		return true
	}
	return false
}

// valuesCtx is done with one context and has the values of another: a
// poller's round runs with a watcher's caller (for the quota scheduler's
// fairness and the user's credentials) for as long as the feed lives.
type valuesCtx struct {
	context.Context
	values context.Context
}

func (c valuesCtx) Value(key any) any { return c.values.Value(key) }

func valuesOf(life, values context.Context) context.Context {
	if values == nil {
		return life
	}
	return valuesCtx{Context: life, values: values}
}
