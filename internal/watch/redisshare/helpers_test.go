package redisshare

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/sharedstate"
	"github.com/defender-gateway/gateway/internal/testredis"
)

const waitTimeout = 10 * time.Second

// eventually fails t unless cond holds within waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newClient opens a client on srv the way the gateway does.
func newClient(t *testing.T, srv *testredis.Server) *redis.Client {
	t.Helper()
	c, err := sharedstate.Open(config.Redis{URL: config.Secret(srv.URL()), CommandTimeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newStore(t *testing.T, c *redis.Client, holder, prefix string) *Store {
	t.Helper()
	s, err := New(Options{Client: c, KeyPrefix: prefix, Holder: holder, LeaseTTL: time.Second, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeBackend is an in-memory upstream listing its incidents updated at or
// after UpdatedFrom, in one page, and counting the listings.
type fakeBackend struct {
	defender.Backend

	mu        sync.Mutex
	incidents map[string]defender.Incident
	lists     int
}

func newFake() *fakeBackend { return &fakeBackend{incidents: map[string]defender.Incident{}} }

func (f *fakeBackend) Kind() defender.BackendKind { return defender.BackendGraph }

// change creates or updates id now.
func (f *fakeBackend) change(id string) defender.Incident {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	inc, ok := f.incidents[id]
	if !ok {
		inc = defender.Incident{ID: id, Status: defender.StatusActive, CreateTime: now}
	}
	inc.UpdateTime = now
	f.incidents[id] = inc
	return inc
}

func (f *fakeBackend) listCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

func (f *fakeBackend) ListIncidents(ctx context.Context, q defender.ListQuery) (*defender.IncidentPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if err := ctx.Err(); err != nil {
		return nil, defender.Errorf(defender.KindCanceled, "", "canceled")
	}
	page := &defender.IncidentPage{}
	for _, inc := range f.incidents {
		if !inc.UpdateTime.Before(q.Filter.UpdatedFrom) {
			page.Incidents = append(page.Incidents, inc)
		}
	}
	return page, nil
}

func (f *fakeBackend) GetIncident(_ context.Context, id string, _ bool) (*defender.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	inc, ok := f.incidents[id]
	if !ok {
		return nil, defender.Errorf(defender.KindNotFound, "", "no incident")
	}
	return &inc, nil
}

// metrics counts a hub's pollers and rounds.
type metrics struct {
	mu                      sync.Mutex
	started, stopped, polls int
}

func (m *metrics) WatcherStarted(string) {}
func (m *metrics) WatcherEnded(string)   {}
func (m *metrics) PollerStarted(string)  { m.mu.Lock(); m.started++; m.mu.Unlock() }
func (m *metrics) PollerStopped(string)  { m.mu.Lock(); m.stopped++; m.mu.Unlock() }
func (m *metrics) WatchPoll(string, string) {
	m.mu.Lock()
	m.polls++
	m.mu.Unlock()
}

func (m *metrics) get() (started, stopped, polls int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.started, m.stopped, m.polls
}

// leading reports whether the hub polls now.
func (m *metrics) leading() bool { s, st, _ := m.get(); return s > st }
