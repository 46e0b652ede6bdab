package redisstore

import (
	"context"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/quota"
)

// localStore is a test fallback: it counts units per key under the limit
// it is given (burst only, no refill; enough to see the scaled share) and
// records the limits and keys it saw. The memory store is the quota
// package's; this package may not depend on its tests.
type localStore struct {
	mu     sync.Mutex
	used   map[string]int
	limits []quota.Limit
	keys   []string
	holds  map[string]time.Time
}

func newLocalStore() *localStore {
	return &localStore{used: map[string]int{}, holds: map[string]time.Time{}}
}

func (m *localStore) Allow(_ context.Context, key string, l quota.Limit) (quota.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.limits = append(m.limits, l)
	m.keys = append(m.keys, key)
	if m.used[key] >= l.Burst {
		return quota.Result{Allowed: 0, RetryAfter: l.Per / time.Duration(l.Rate)}, nil
	}
	m.used[key]++
	return quota.Result{Allowed: 1, Remaining: l.Burst - m.used[key], RetryAfter: -1}, nil
}

func (m *localStore) Peek(_ context.Context, key string, l quota.Limit) (quota.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.limits = append(m.limits, l)
	return quota.Result{Remaining: l.Burst - m.used[key], RetryAfter: -1}, nil
}

func (m *localStore) Hold(_ context.Context, key string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if until.After(m.holds[key]) {
		m.holds[key] = until
	}
	return nil
}

func (m *localStore) Held(_ context.Context, key string) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.holds[key], nil
}

func (m *localStore) Shared() bool { return false }

func (m *localStore) seen() ([]quota.Limit, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]quota.Limit(nil), m.limits...), append([]string(nil), m.keys...)
}
