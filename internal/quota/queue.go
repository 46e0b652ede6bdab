package quota

import "time"

// enqueue adds a call of c to its caller's queue of its class.
func (l *lane) enqueue(c Call, expires time.Time) *waiter {
	k := callerKey{c.Caller, !Interactive(c.Family)}
	w := &waiter{call: c, key: k, expires: expires, done: make(chan error, 1)}
	q := l.callers[k]
	if q == nil {
		q = &callerQueue{}
		l.callers[k] = q
		cl := classOf(c.Family)
		l.rings[cl] = append(l.rings[cl], k)
	}
	q.waiters = append(q.waiters, w)
	l.queued++
	l.wake()
	return w
}

// remove takes w out of its queue; false when it is no longer queued.
func (l *lane) remove(w *waiter) bool {
	q := l.callers[w.key]
	if q == nil {
		return false
	}
	for i, x := range q.waiters {
		if x == w {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			l.queued--
			if len(q.waiters) == 0 {
				l.dropCaller(w.key)
			}
			return true
		}
	}
	return false
}

func (l *lane) dropCaller(k callerKey) {
	delete(l.callers, k)
	cl := 0
	if k.bulk {
		cl = 1
	}
	ring := l.rings[cl]
	for i, x := range ring {
		if x == k {
			l.rings[cl] = append(ring[:i], ring[i+1:]...)
			if l.next[cl] > i {
				l.next[cl]--
			}
			break
		}
	}
	if n := len(l.rings[cl]); n == 0 || l.next[cl] >= n {
		l.next[cl] = 0
	}
}

func (l *lane) failAll(err error) {
	for k, q := range l.callers {
		for _, w := range q.waiters {
			w.done <- err
		}
		delete(l.callers, k)
	}
	l.rings = [2][]callerKey{}
	l.next = [2]int{}
	l.queued = 0
}
