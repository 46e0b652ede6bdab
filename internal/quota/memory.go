package quota

import (
	"context"
	"math"
	"sync"
	"time"
)

// MemoryStore is a Store in this process's memory: the GCRA of
// github.com/go-redis/redis_rate (the Redis store's) computed in Go, so
// that both answer alike, and holds. Keys idle past their window's reset
// (and holds past their end) are evicted, so memory stays bounded by the
// keys in use.
type MemoryStore struct {
	clock Clock

	mu sync.Mutex
	// tat is each key's theoretical arrival time and when it expires.
	tat   map[string]memEntry
	holds map[string]time.Time
	// ops counts calls since the last sweep of expired keys.
	ops int
}

type memEntry struct {
	tat     time.Time
	expires time.Time
}

// sweepEvery is how many operations pass between sweeps of expired keys.
const sweepEvery = 1024

// NewMemoryStore returns an empty store on clock (SystemClock when nil).
func NewMemoryStore(clock Clock) *MemoryStore {
	if clock == nil {
		clock = SystemClock{}
	}
	return &MemoryStore{clock: clock, tat: map[string]memEntry{}, holds: map[string]time.Time{}}
}

// Allow takes one unit of key under l when it is free.
func (m *MemoryStore) Allow(_ context.Context, key string, l Limit) (Result, error) {
	return m.allowN(key, l, 1), nil
}

// Peek reports key's state under l without taking a unit.
func (m *MemoryStore) Peek(_ context.Context, key string, l Limit) (Result, error) {
	return m.allowN(key, l, 0), nil
}

// allowN is redis_rate's script (allowN): emission interval per/rate,
// the theoretical arrival time advanced by n intervals, refused when that
// lies more than burst intervals ahead of now.
func (m *MemoryStore) allowN(key string, l Limit, n int) Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	m.maybeSweep(now)
	if l.Rate <= 0 || l.Per <= 0 {
		return Result{RetryAfter: -1}
	}
	interval := l.Per / time.Duration(l.Rate)
	burstOffset := interval * time.Duration(l.Burst)
	tat := now
	if e, ok := m.tat[key]; ok && now.Before(e.expires) && e.tat.After(now) {
		tat = e.tat
	}
	newTat := tat.Add(interval * time.Duration(n))
	allowAt := newTat.Add(-burstOffset)
	diff := now.Sub(allowAt)
	remaining := int(math.Floor(float64(diff) / float64(interval)))
	if diff < 0 {
		return Result{Allowed: 0, Remaining: 0, RetryAfter: -diff, ResetAfter: tat.Sub(now)}
	}
	resetAfter := newTat.Sub(now)
	if resetAfter > 0 {
		m.tat[key] = memEntry{tat: newTat, expires: newTat}
	}
	return Result{Allowed: n, Remaining: remaining, RetryAfter: -1, ResetAfter: resetAfter}
}

// Hold makes Held(key) at least until; it never shortens a hold.
func (m *MemoryStore) Hold(_ context.Context, key string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	m.maybeSweep(now)
	if !until.After(now) {
		return nil
	}
	if cur, ok := m.holds[key]; !ok || until.After(cur) {
		m.holds[key] = until
	}
	return nil
}

// Held returns the end of key's hold, zero when none.
func (m *MemoryStore) Held(_ context.Context, key string) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	until, ok := m.holds[key]
	if !ok || !until.After(now) {
		delete(m.holds, key)
		return time.Time{}, nil
	}
	return until, nil
}

// Shared is false: the state is this replica's.
func (m *MemoryStore) Shared() bool { return false }

// Len is the number of keys the store holds (limiters and holds), for
// tests of eviction.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(m.clock.Now())
	return len(m.tat) + len(m.holds)
}

func (m *MemoryStore) maybeSweep(now time.Time) {
	if m.ops++; m.ops >= sweepEvery {
		m.sweep(now)
	}
}

// sweep drops every expired key: a limiter whose window is full again
// answers as a new one would.
func (m *MemoryStore) sweep(now time.Time) {
	m.ops = 0
	for k, e := range m.tat {
		if !now.Before(e.expires) {
			delete(m.tat, k)
		}
	}
	for k, until := range m.holds {
		if !until.After(now) {
			delete(m.holds, k)
		}
	}
}
