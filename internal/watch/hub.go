package watch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// Stable ErrorInfo reasons of a watch's end.
const (
	ReasonLagging     = "WATCH_LAGGING"
	ReasonTooMany     = "TOO_MANY_WATCHERS"
	ReasonPollerEnded = "WATCH_POLLER_FAILED"
)

// ErrClosed ends every subscription when the hub closes (the gateway
// drains): the client resumes on another replica with its last cursor.
var ErrClosed = defender.Errorf(defender.KindUnavailable, defender.ReasonShuttingDown,
	"the gateway is shutting down: resume the watch with the last cursor")

// Key identifies a shared poller: who reads the upstream (the tenant, the
// auth context and, in a user context, the user) and how much of each
// incident.
type Key struct {
	Tenant   string
	Context  string
	Identity string
	Backend  defender.BackendKind
	Alerts   bool
	// Subject is what the poller reads: incidents (the zero value) or
	// alerts (Graph alerts_v2, AlertService.WatchAlerts).
	Subject Subject
}

// Subject is what a poller watches.
type Subject int

// The subjects.
const (
	Incidents Subject = iota
	AlertsSubject
)

// ID is a short, stable name of the key for shared stores: a hash, so it
// reveals no identity.
func (k Key) ID() string {
	format := "v1 %q %q %q %q %t"
	if k.Subject == AlertsSubject {
		// Its own namespace: an alert poller never shares an incident
		// poller's lease, state or rounds.
		format = "alerts v1 %q %q %q %q %t"
	}
	sum := sha256.Sum256(fmt.Appendf(nil, format, k.Tenant, k.Context, k.Identity, k.Backend, k.Alerts))
	return hex.EncodeToString(sum[:16])
}

// Source is how a poller reaches the upstream: a watcher's backend, and a
// context carrying its caller's values (its cancellation is not used).
type Source struct {
	Backend defender.Backend
	Values  context.Context
}

// Metrics receives the hub's gauges and counters; nil methods are fine.
type Metrics interface {
	WatcherStarted(tenant string)
	WatcherEnded(tenant string)
	PollerStarted(tenant string)
	PollerStopped(tenant string)
	WatchPoll(tenant, outcome string)
}

// Options configure a hub.
type Options struct {
	Timing Timing
	// MaxWatchers is the most subscriptions the hub holds at once.
	MaxWatchers int
	// Buffer is how many events a subscription may fall behind before it
	// is ended with WATCH_LAGGING.
	Buffer int
	// RoundTimeout bounds one round's upstream calls.
	RoundTimeout time.Duration
	// Shared, when set, elects one poller per key across replicas and
	// carries its rounds to all of them.
	Shared  Shared
	Log     *slog.Logger
	Metrics Metrics
	Now     func() time.Time
}

// Hub runs the shared pollers and fans their rounds out to subscriptions.
type Hub struct {
	o   Options
	log *slog.Logger

	mu       sync.Mutex
	feeds    map[Key]*feed
	watchers int
	closed   bool
	wg       sync.WaitGroup
}

// NewHub returns a hub; nothing runs until the first subscription.
func NewHub(o Options) *Hub {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
	if o.RoundTimeout <= 0 {
		o.RoundTimeout = 2 * time.Minute
	}
	if o.Buffer <= 0 {
		o.Buffer = 10_000
	}
	return &Hub{o: o, log: o.Log, feeds: make(map[Key]*feed)}
}

// Subscribe joins key's poller (starting it if needed) with src. With a
// zero since the subscription starts at the poller's watermark; otherwise
// it first delivers, as one round, every change since since (minus the
// overlap) read with src, then the live rounds, without repeating what
// that round held. With a shared store it first waits (bounded by ctx)
// until this replica reads the key's round stream, so that every change
// made after it returns reaches the subscription.
func (h *Hub) Subscribe(ctx context.Context, key Key, src Source, since time.Time) (*Subscription, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if h.o.MaxWatchers > 0 && h.watchers >= h.o.MaxWatchers {
		h.mu.Unlock()
		return nil, defender.Errorf(defender.KindResourceExhausted, ReasonTooMany,
			"this gateway serves its most watchers (%d): retry later or on another replica", h.o.MaxWatchers)
	}
	f := h.feeds[key]
	if f == nil {
		f = newFeed(h, key, src)
		h.feeds[key] = f
		h.wg.Add(1)
		go func() { defer h.wg.Done(); f.run() }()
	}
	h.watchers++
	sub := &Subscription{h: h, f: f, notify: make(chan struct{}, 1), limit: h.o.Buffer}
	f.add(sub, src)
	h.mu.Unlock()
	h.o.Metrics.WatcherStarted(key.Tenant)

	// With a shared store, a round another replica publishes before this
	// replica's reader found the end of the round stream would never reach
	// sub, though it may hold changes made after Subscribe returned: the
	// position (and the catch-up) is taken once the reader is there.
	select {
	case <-f.ready:
	case <-ctx.Done():
		sub.Close()
		return nil, ctx.Err()
	}
	if since.IsZero() {
		sub.Start = f.position()
		return sub, nil
	}
	sub.Start = since
	p := &poller{timing: h.o.Timing, withAlerts: key.Alerts, subject: key.Subject, now: h.o.Now}
	r, _, err := p.round(defender.WithFreshRead(ctx), src.Backend, State{Watermark: since})
	if err != nil {
		sub.Close()
		return nil, err
	}
	sub.catchUp(r, delivered(r))
	return sub, nil
}

// Close ends every subscription with ErrClosed and stops the pollers.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	feeds := make([]*feed, 0, len(h.feeds))
	for _, f := range h.feeds {
		feeds = append(feeds, f)
	}
	h.mu.Unlock()
	for _, f := range feeds {
		f.fail(ErrClosed)
	}
	h.wg.Wait()
}

// Watchers returns how many subscriptions are open.
func (h *Hub) Watchers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.watchers
}

// remove drops sub; the last one out stops its feed.
func (h *Hub) remove(sub *Subscription) {
	h.mu.Lock()
	f := sub.f
	h.watchers--
	last := f.drop(sub)
	if last && h.feeds[f.key] == f {
		delete(h.feeds, f.key)
	}
	h.mu.Unlock()
	h.o.Metrics.WatcherEnded(f.key.Tenant)
	if last {
		f.stop()
	}
}

type noMetrics struct{}

func (noMetrics) WatcherStarted(string)    {}
func (noMetrics) WatcherEnded(string)      {}
func (noMetrics) PollerStarted(string)     {}
func (noMetrics) PollerStopped(string)     {}
func (noMetrics) WatchPoll(string, string) {}
