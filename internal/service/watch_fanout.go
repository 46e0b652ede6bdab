package service

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/watch"
)

// watchTenant is one tenant of a watch across tenants.
type watchTenant struct {
	tenant string
	bind   string
	sub    *watch.Subscription // nil: not watched (unreachable)
	pos    time.Time           // every change before it is delivered
	hasPos bool                // pos is known (the tenant was watched)
	err    error               // why it is not watched
	un     *defenderv1.UnreachableTenant
}

// fanWatch is what a watch across tenants needs of its service
// (WatchIncidents' or WatchAlerts').
type fanWatch struct {
	resolver Resolver
	fanout   fanoutSettings
	watch    watchSettings
	tokens   pageTokens
	errs     errorReporter
}

// fanSubject is what differs between the watches across tenants: the
// poller key of a tenant, the tenants that cannot serve it, and the
// messages of the stream.
type fanSubject struct {
	// key sets the subject of a tenant's poller key.
	key func(watch.Key) watch.Key
	// refuse, if set, fails a tenant whose target cannot be watched.
	refuse func(authctx.Target) error
	// match reports whether a change is sent (the filter).
	match func(*watch.Event) bool
	// change sends a change of tenant with cursor.
	change func(tenant string, ev *watch.Event, cursor string) error
	// heartbeat sends a heartbeat with cursor.
	heartbeat func(hb *defenderv1.WatchHeartbeat, cursor string) error
}

// run is a watch across tenants: one subscription per tenant the caller
// may use, on the hub's shared poller of that tenant's key, all sent on one
// stream. A tenant that cannot be watched is reported in the heartbeats;
// the stream fails when none can. cursor is the request's, of kind and
// digest.
func (f *fanWatch) run(ctx context.Context, subj fanSubject, cursor, kind, digest string) error {
	if f.fanout.tenants == nil {
		return fieldError("parent", "tenants/- is not served by this gateway")
	}
	positions := map[string]watchFanTenant{}
	if cursor != "" {
		states, err := f.tokens.openWatchFanCursor(cursor, kind, digest)
		if err != nil {
			return err
		}
		for _, st := range states {
			positions[st.Tenant] = st
		}
	}
	targets, err := fanoutTargets(ctx, f.resolver, f.fanout.tenants)
	if err != nil {
		return err
	}
	tenants, err := f.subscribeEach(ctx, subj, targets, positions)
	defer func() {
		for _, t := range tenants {
			if t.sub != nil {
				t.sub.Close()
			}
		}
	}()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var first error
	for _, t := range tenants {
		if t.sub != nil {
			first = nil
			break
		}
		if first == nil {
			first = t.err
		}
	}
	if first != nil {
		return first
	}
	for _, t := range tenants {
		if t.err != nil {
			t.un, _ = unreachableOf(ctx, f.errs, t.tenant, t.err)
		}
	}
	w := fanWatcher{f: f, ctx: ctx, subj: subj, tenants: tenants,
		codec: cursorCodec{tokens: f.tokens, kind: kind, digest: digest}}
	return w.run()
}

// subscribeEach subscribes to each tenant's key, at most the fan-out
// concurrency at once (a resumed subscription reads its catch-up round
// first). A tenant resumed from a cursor starts at its position there;
// one older than the gateway keeps is unreachable (WATCH_CURSOR_EXPIRED),
// and keeps its position in the next cursors. A tenant served now by
// another backend or auth context makes the cursor invalid.
func (f *fanWatch) subscribeEach(ctx context.Context, subj fanSubject, targets []*fanoutTenant, positions map[string]watchFanTenant) ([]*watchTenant, error) {
	out := make([]*watchTenant, len(targets))
	var wg sync.WaitGroup
	sem := make(chan struct{}, f.fanout.concurrency)
	moved := false
	for i, ft := range targets {
		t := &watchTenant{tenant: ft.state.Tenant, err: ft.err}
		out[i] = t
		if ft.err != nil {
			// Not resolved now: its position, if any, is kept for later.
			if p, ok := positions[t.tenant]; ok {
				t.bind, t.pos, t.hasPos = p.Bind, time.Unix(0, p.Watermark).UTC(), true
			}
			continue
		}
		t.bind = tenantBind(ft.target)
		if subj.refuse != nil {
			if t.err = subj.refuse(ft.target); t.err != nil {
				continue
			}
		}
		var since time.Time
		if p, ok := positions[t.tenant]; ok {
			if p.Bind != t.bind {
				moved = true
				continue
			}
			since = time.Unix(0, p.Watermark).UTC()
			t.pos, t.hasPos = since, true
			if age := f.tokens.now().Sub(since); age > f.watch.cursorMaxAge {
				t.err = defender.Errorf(defender.KindFailedPrecondition, ReasonWatchCursorExpired,
					"the cursor's position of this tenant is older than %s: list its changes since then, and watch without a cursor", f.watch.cursorMaxAge)
				continue
			}
		}
		target := ft.target
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				t.err = ctx.Err()
				return
			}
			b := bindingOf(ctx, target)
			key := subj.key(watch.Key{Tenant: target.Tenant, Context: target.Context.Name, Identity: b.User, Backend: target.Backend.Kind()})
			sub, err := f.watch.hub.Subscribe(ctx, key, watch.Source{Backend: target.Backend, Values: ctx}, since)
			if err != nil {
				t.err = err
				return
			}
			t.sub, t.pos, t.hasPos = sub, sub.Start, true
		}()
	}
	wg.Wait()
	if moved {
		return out, fieldError("cursor", invalidPageToken)
	}
	for _, t := range out {
		// The hub refusing a watcher, or draining, is the gateway's
		// state, not a tenant's: the whole watch fails.
		if isGatewayWide(t.err) {
			return out, t.err
		}
	}
	return out, nil
}

// isGatewayWide reports a failure of the gateway rather than of a tenant.
func isGatewayWide(err error) bool {
	if errors.Is(err, watch.ErrClosed) {
		return true
	}
	e, ok := defender.AsError(err)
	return ok && e.Reason == watch.ReasonTooMany
}

// fanWatcher sends the rounds and heartbeats of a watch across tenants.
type fanWatcher struct {
	f       *fanWatch
	ctx     context.Context
	subj    fanSubject
	tenants []*watchTenant
	codec   cursorCodec
}

func (w *fanWatcher) run() error {
	ctx := w.ctx
	if err := w.heartbeat(); err != nil {
		return err
	}
	timer := time.NewTimer(w.f.watch.heartbeat)
	defer timer.Stop()
	var end <-chan time.Time
	if d := w.f.watch.maxDuration; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		end = t.C
	}
	const fixed = 3 // ctx, end, timer
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(end)},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
	}
	index := make([]*watchTenant, 0, len(w.tenants))
	for _, t := range w.tenants {
		if t.sub != nil {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.sub.Ready())})
			index = append(index, t)
		}
	}
	for {
		chosen, _, _ := reflect.Select(cases)
		switch chosen {
		case 0:
			return ctx.Err()
		case 1:
			// The watch ran its longest: it ends, and the client resumes
			// with the last cursor (on any replica).
			return w.heartbeat()
		case 2:
			if err := w.heartbeat(); err != nil {
				return err
			}
		default:
			t := index[chosen-fixed]
			rounds, err := t.sub.Take()
			if err == nil {
				sent, err := w.send(t, rounds)
				if err != nil {
					return err
				}
				if !sent {
					continue
				}
				break
			}
			if err := w.drop(t, err); err != nil {
				return err
			}
			// A dropped tenant's channel is never ready again.
			cases[chosen].Chan = reflect.ValueOf((<-chan struct{})(nil))
			if err := w.heartbeat(); err != nil {
				return err
			}
		}
		timer.Reset(w.f.watch.heartbeat)
	}
}

// drop ends the watch of tenant t, which failed with err: it is reported
// unreachable from now on and keeps its position. A failure of the gateway
// (draining), or the last tenant failing, ends the stream.
func (w *fanWatcher) drop(t *watchTenant, err error) error {
	if isGatewayWide(err) || w.ctx.Err() != nil {
		return err
	}
	t.sub.Close()
	t.sub, t.err = nil, err
	t.un, _ = unreachableOf(w.ctx, w.f.errs, t.tenant, err)
	for _, o := range w.tenants {
		if o.sub != nil {
			return nil
		}
	}
	return err
}

// send sends the changes of t's rounds that match, named under
// t's tenant, each with the cursor of every tenant's position (t's at the
// round's start), and reports whether it sent anything.
func (w *fanWatcher) send(t *watchTenant, rounds []watch.Round) (bool, error) {
	sent := false
	for _, r := range rounds {
		at := later(t.pos, r.From)
		cursor := ""
		for i := range r.Events {
			ev := &r.Events[i]
			if !w.subj.match(ev) {
				continue
			}
			if cursor == "" {
				t.pos = at
				var err error
				if cursor, err = w.cursor(); err != nil {
					return sent, err
				}
			}
			if err := w.subj.change(t.tenant, ev, cursor); err != nil {
				return sent, err
			}
			sent = true
		}
		t.pos = later(at, r.After)
	}
	return sent, nil
}

// cursor signs every tenant's current position.
func (w *fanWatcher) cursor() (string, error) {
	states := make([]watchFanTenant, 0, len(w.tenants))
	for _, t := range w.tenants {
		if t.hasPos {
			states = append(states, watchFanTenant{Tenant: t.tenant, Bind: t.bind, Watermark: t.pos.UnixNano()})
		}
	}
	return w.codec.encode(states)
}

// heartbeat sends a heartbeat with the earliest position of the watched
// tenants and the unreachable ones.
func (w *fanWatcher) heartbeat() error {
	cursor, err := w.cursor()
	if err != nil {
		return err
	}
	hb := &defenderv1.WatchHeartbeat{Time: timestamppb.New(w.f.tokens.now())}
	var low time.Time
	for _, t := range w.tenants {
		if t.sub != nil && (low.IsZero() || t.pos.Before(low)) {
			low = t.pos
		}
		if t.un != nil {
			hb.Unreachable = append(hb.Unreachable, t.un.GetTenant())
			hb.UnreachableDetails = append(hb.UnreachableDetails, t.un)
		}
	}
	if !low.IsZero() {
		hb.Watermark = timestamppb.New(low)
	}
	return w.subj.heartbeat(hb, cursor)
}
