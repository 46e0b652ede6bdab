package governor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// group runs one call per key at a time and lets every caller of the same
// key wait for it: singleflight with reference counting, so that the shared
// call outlives any one caller leaving and ends when the last one leaves.
//
// The shared call runs on the first caller's (the leader's) context
// detached from its cancellation (context.WithoutCancel: its values, the
// caller identity and the gate, stay), with the leader's deadline, and is
// canceled when its last waiter leaves. Each waiter returns at its own
// deadline with its own context error. A waiter whose own deadline is later
// than the leader's, and which sees the shared call end on the leader's
// deadline, runs the call again (at most maxRetries times): a short
// deadline of one caller never fails a caller with more time.
type group struct {
	mu sync.Mutex
	m  map[string]*flight
}

// maxRetries bounds how often one waiter starts over after a shared call
// ended on its leader's deadline.
const maxRetries = 2

type flight struct {
	done chan struct{}
	// val and err are the result, set before done is closed; expired says
	// the call ended because its deadline (the leader's) passed.
	val     any
	err     error
	expired bool

	deadline time.Time // zero: none
	waiters  int       // guarded by group.mu
	// joins counts every caller that joined, leavers included (guarded by
	// group.mu; final once done is closed, as the flight has left the map).
	joins  int
	cancel context.CancelFunc
}

func newGroup() *group { return &group{m: map[string]*flight{}} }

// do returns the result of fn for key, shared with the concurrent callers
// of key. fn must not keep its result. exclusive says no other caller
// joined the call, so the result is the caller's alone; otherwise the
// callers share it and must copy it. joined, when not nil, is called each
// time the caller joins a call already in flight rather than starting one.
func (g *group) do(ctx context.Context, key string, fn func(context.Context) (any, error), joined func()) (val any, exclusive bool, err error) {
	own, hasOwn := ctx.Deadline()
	for attempt := 0; ; attempt++ {
		f, shared := g.join(ctx, key, fn)
		if shared && joined != nil {
			joined()
		}
		select {
		case <-f.done:
			alone := g.leave(key, f)
			laterThanLeader := !f.deadline.IsZero() && (!hasOwn || own.After(f.deadline))
			if f.err != nil && f.expired && ctx.Err() == nil && laterThanLeader && attempt < maxRetries {
				continue
			}
			return f.val, alone, f.err
		case <-ctx.Done():
			g.leave(key, f)
			return nil, false, contextError(ctx)
		}
	}
}

// join returns key's flight, starting it with ctx as the leader's when
// there is none (shared false), and counts the caller as its waiter.
func (g *group) join(ctx context.Context, key string, fn func(context.Context) (any, error)) (f *flight, shared bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		f.waiters++
		f.joins++
		return f, true
	}
	f = &flight{done: make(chan struct{}), waiters: 1, joins: 1}
	var fctx context.Context
	detached := context.WithoutCancel(ctx)
	if d, ok := ctx.Deadline(); ok {
		f.deadline = d
		fctx, f.cancel = context.WithDeadline(detached, d)
	} else {
		fctx, f.cancel = context.WithCancel(detached)
	}
	g.m[key] = f
	go g.run(fctx, key, f, fn)
	return f, false
}

func (g *group) run(ctx context.Context, key string, f *flight, fn func(context.Context) (any, error)) {
	defer f.cancel()
	defer func() {
		if r := recover(); r != nil {
			f.val, f.err = nil, &defender.Error{Kind: defender.KindInternal, Reason: defender.ReasonInternal,
				Message: "internal error", Cause: fmt.Errorf("governor: shared call panicked: %v", r)}
		}
		f.expired = errors.Is(ctx.Err(), context.DeadlineExceeded)
		g.mu.Lock()
		if g.m[key] == f {
			delete(g.m, key)
		}
		g.mu.Unlock()
		close(f.done)
	}()
	f.val, f.err = fn(ctx)
}

// leave stops counting a waiter; the last one cancels the call. It
// reports whether the caller was the call's only one.
func (g *group) leave(key string, f *flight) (alone bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	alone = f.joins == 1
	f.waiters--
	if f.waiters == 0 {
		f.cancel()
		if g.m[key] == f {
			delete(g.m, key)
		}
	}
	return alone
}

// forget makes the next callers of every key starting with prefix start a
// new call instead of joining one in flight (after a write).
func (g *group) forget(prefix string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k := range g.m {
		if strings.HasPrefix(k, prefix) {
			delete(g.m, k)
		}
	}
}

// inflight is the number of calls in flight (tests).
func (g *group) inflight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}

// contextError is ctx's error as the defender client reports it.
func contextError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return defender.Errorf(defender.KindDeadlineExceeded, defender.ReasonDeadlineExceeded, "the deadline passed before the upstream answered")
	}
	return defender.Errorf(defender.KindCanceled, defender.ReasonCanceled, "the call was canceled")
}
