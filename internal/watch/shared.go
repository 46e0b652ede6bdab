package watch

import (
	"context"
	"time"
)

// Shared is a store several replicas share (Redis): it elects one poller
// per key, keeps that poller's state, and carries its rounds to every
// replica. Keys are Key.ID values.
type Shared interface {
	// Lead takes or renews key's lease for this replica and reports
	// whether this replica holds it.
	Lead(ctx context.Context, key string) (bool, error)
	// Release gives key's lease up, if this replica holds it.
	Release(ctx context.Context, key string) error
	// InitState stores st as key's state unless it has one.
	InitState(ctx context.Context, key string, st State) error
	// LoadState returns key's state.
	LoadState(ctx context.Context, key string) (State, bool, error)
	// Publish appends r to key's rounds and stores st as its state, at
	// once and only while this replica holds the lease (false otherwise).
	Publish(ctx context.Context, key string, r Round, st State) (bool, error)
	// Tail returns the id of key's newest round ("0" when none).
	Tail(ctx context.Context, key string) (string, error)
	// Read returns key's rounds after the id after, oldest first, waiting
	// up to block for one.
	Read(ctx context.Context, key, after string, block time.Duration) ([]Published, error)
}

// Published is a round as a shared store holds it.
type Published struct {
	ID    string
	Round Round
}

// sharedBlock is how long one read of the shared rounds waits.
const sharedBlock = 2 * time.Second

// runShared is run for a shared store: a reader delivers the rounds every
// replica's leader publishes, and this replica polls while it holds the
// lease, from the state the last leader published.
func (f *feed) runShared() {
	sh, key := f.h.o.Shared, f.key.ID()
	if err := sh.InitState(f.ctx, key, State{Watermark: f.state.Watermark}); err != nil && f.ctx.Err() == nil {
		f.h.log.Warn("watch: storing the initial watermark failed", "tenant", f.key.Tenant, "error", err)
	}
	done := make(chan struct{})
	go func() { defer close(done); f.read(sh, key) }()
	f.lead(sh, key)
	<-done
}

// read delivers the published rounds until the feed stops, from the end
// of the stream when it starts; the feed is ready once it found that end.
func (f *feed) read(sh Shared, key string) {
	defer f.markReady()
	after := ""
	for f.ctx.Err() == nil {
		if after == "" {
			id, err := sh.Tail(f.ctx, key)
			if err != nil {
				f.sharedError("reading the round stream's tail", err)
				continue
			}
			after = id
			f.markReady()
		}
		rounds, err := sh.Read(f.ctx, key, after, sharedBlock)
		if err != nil {
			f.sharedError("reading the rounds", err)
			continue
		}
		for _, p := range rounds {
			after = p.ID
			f.deliver(p.Round)
		}
	}
}

// lead tries for the lease every third of the lease period (the store's
// business: the interval here is the polling interval or less) and, while
// it holds it, polls every interval.
func (f *feed) lead(sh Shared, key string) {
	tick := min(f.h.o.Timing.Interval, time.Second)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var (
		leading bool
		st      State
		last    time.Time
	)
	defer func() {
		if leading {
			f.h.o.Metrics.PollerStopped(f.key.Tenant)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = sh.Release(ctx, key)
		}
	}()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-timer.C:
		}
		timer.Reset(tick)
		ok, err := sh.Lead(f.ctx, key)
		if err != nil {
			f.sharedError("taking the poller lease", err)
			ok = false
		}
		if !ok {
			if leading {
				leading = false
				f.h.o.Metrics.PollerStopped(f.key.Tenant)
			}
			continue
		}
		if !leading {
			loaded, found, err := sh.LoadState(f.ctx, key)
			if err != nil {
				f.sharedError("loading the poller state", err)
				continue
			}
			if !found {
				loaded = State{Watermark: f.h.o.Now().Add(-f.h.o.Timing.Delay)}
			}
			st, leading, last = loaded, true, time.Time{}
			f.h.o.Metrics.PollerStarted(f.key.Tenant)
			f.h.log.Info("watch: this replica polls for the tenant", "tenant", f.key.Tenant, "watermark", st.Watermark)
		}
		if !last.IsZero() && f.h.o.Now().Sub(last) < f.h.o.Timing.Interval {
			continue
		}
		last = f.h.o.Now()
		r, next, err := f.pollRenewing(sh, key, tick, st)
		if err != nil {
			if f.ctx.Err() != nil || f.roundFailed(err) {
				return
			}
			continue
		}
		published, err := sh.Publish(f.ctx, key, r, next)
		switch {
		case err != nil:
			f.sharedError("publishing a round", err)
		case !published:
			leading = false
			f.h.o.Metrics.PollerStopped(f.key.Tenant)
			f.h.log.Info("watch: the poller lease moved to another replica", "tenant", f.key.Tenant)
		default:
			st = next
		}
	}
}

// sharedError logs a failure of the shared store and waits a little, unless
// the feed stops.
func (f *feed) sharedError(what string, err error) {
	if f.ctx.Err() != nil {
		return
	}
	f.h.log.Warn("watch: the shared store failed", "tenant", f.key.Tenant, "while", what, "error", err)
	select {
	case <-f.ctx.Done():
	case <-time.After(time.Second):
	}
}

// pollRenewing is poll, renewing the lease every tick while the round runs
// (a round waiting on the quota or a slow upstream can outlast the lease).
func (f *feed) pollRenewing(sh Shared, key string, tick time.Duration, st State) (Round, State, error) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if _, err := sh.Lead(f.ctx, key); err != nil && f.ctx.Err() == nil {
					f.h.log.Warn("watch: renewing the poller lease failed", "tenant", f.key.Tenant, "error", err)
				}
			}
		}
	}()
	defer func() { close(stop); <-done }()
	return f.poll(st)
}
