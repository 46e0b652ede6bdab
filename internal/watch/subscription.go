package watch

import (
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// Subscription is one watcher's place on a feed: the rounds delivered to
// it and not taken yet, or the error that ended it.
type Subscription struct {
	// Start is the subscription's first position: the since it was opened
	// with, or the poller's watermark then.
	Start time.Time

	h     *Hub
	f     *feed
	limit int

	mu      sync.Mutex
	pending []Round
	events  int
	err     error
	notify  chan struct{}
	// seen holds the catch-up round's incidents, so that the live rounds
	// that read them too do not repeat them.
	seen map[string]time.Time

	closeOnce sync.Once
}

// Ready is signalled when rounds or an error wait to be taken.
func (s *Subscription) Ready() <-chan struct{} { return s.notify }

// Take returns the rounds delivered since the last call, oldest first, or,
// once they are all taken, the error that ended the subscription (nil
// while it runs).
func (s *Subscription) Take() ([]Round, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 {
		rounds := s.pending
		s.pending, s.events = nil, 0
		return rounds, nil
	}
	return nil, s.err
}

// Close leaves the feed; the last subscription out stops its poller.
func (s *Subscription) Close() {
	s.closeOnce.Do(func() { s.h.remove(s) })
}

// deliver queues r, without what the catch-up round already held. A
// subscription with changes still waiting that would fall more than its
// limit of events behind is ended with WATCH_LAGGING (and its queue
// dropped).
func (s *Subscription) deliver(r Round) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	r = s.unseen(r)
	// Lagging is having changes waiting and more than the limit with this
	// round: a caught-up watcher takes any round, however large.
	if s.events > 0 && s.events+len(r.Events) > s.limit {
		s.pending, s.events = nil, 0
		s.err = defender.Errorf(defender.KindResourceExhausted, ReasonLagging,
			"the watch fell more than %d changes behind: resume it with the last cursor", s.limit)
		s.signal()
		return
	}
	s.pending = append(s.pending, r)
	s.events += len(r.Events)
	s.signal()
}

// catchUp puts the catch-up round r, whose incidents are seen, before
// whatever live rounds arrived meanwhile, and drops from those what r holds.
func (s *Subscription) catchUp(r Round, seen map[string]time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = seen
	live := s.pending
	s.pending, s.events = []Round{r}, len(r.Events)
	for _, l := range live {
		l = s.unseen(l)
		s.pending = append(s.pending, l)
		s.events += len(l.Events)
	}
	s.signal()
}

// delivered maps the incidents of the catch-up round r to the versions it
// holds. Not the round's state: that is pruned to the round's own window,
// and the live poller's next round may read from further back (when its
// interval is longer than the delay and the overlap) and repeat them.
func delivered(r Round) map[string]time.Time {
	if len(r.Events) == 0 {
		return nil
	}
	seen := make(map[string]time.Time, len(r.Events))
	for _, ev := range r.Events {
		if t, ok := seen[ev.ID()]; !ok || ev.UpdateTime().After(t) {
			seen[ev.ID()] = ev.UpdateTime()
		}
	}
	return seen
}

// unseen drops from r the events of incidents the catch-up round held in
// the same or a later version; must be called with s.mu held.
func (s *Subscription) unseen(r Round) Round {
	if s.seen == nil {
		return r
	}
	kept := make([]Event, 0, len(r.Events))
	for _, ev := range r.Events {
		if t, ok := s.seen[ev.ID()]; ok && !ev.UpdateTime().After(t) {
			continue
		}
		kept = append(kept, ev)
	}
	r.Events = kept
	prune(s.seen, r.From.Add(-s.h.o.Timing.Overlap))
	if len(s.seen) == 0 {
		s.seen = nil
	}
	return r
}

// fail ends the subscription with err (the rounds already queued are still
// taken first).
func (s *Subscription) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		s.signal()
	}
}

func (s *Subscription) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}
