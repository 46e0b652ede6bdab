package redisstore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/quota"
	"github.com/defender-gateway/gateway/internal/sharedstate"
	"github.com/defender-gateway/gateway/internal/testredis"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	srv    *testredis.Server
	client *redis.Client
	store  *Store
	local  *localStore
	logs   *syncBuf
}

func newStore(t *testing.T, srv *testredis.Server, id, prefix string) fixture {
	t.Helper()
	client, err := sharedstate.Open(config.Redis{URL: config.Secret(srv.URL()), CommandTimeout: 200 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	logs := &syncBuf{}
	local := newLocalStore()
	s, err := New(Options{
		Client: client, KeyPrefix: prefix, ReplicaID: id, Fallback: local,
		Logger:    slog.New(slog.NewTextHandler(logs, nil)),
		Heartbeat: 50 * time.Millisecond, ProbeInterval: 20 * time.Millisecond,
		CommandTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return fixture{srv: srv, client: client, store: s, local: local, logs: logs}
}

// eventually polls cond until it holds or 5s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGCRA(t *testing.T) {
	srv := testredis.Start(t)
	f := newStore(t, srv, "a", "")
	ctx := context.Background()
	// 6 per minute (one cell every 10s) with a burst of 3.
	l := quota.Limit{Rate: 6, Burst: 3, Per: time.Minute}

	p, err := f.store.Peek(ctx, "t1", l)
	if err != nil || p.Allowed != 0 || p.Remaining != 3 {
		t.Fatalf("Peek on a fresh key = %+v, %v; want 0 allowed, 3 remaining", p, err)
	}
	for i := range 3 {
		r, err := f.store.Allow(ctx, "t1", l)
		if err != nil || r.Allowed != 1 || r.Remaining != 2-i {
			t.Fatalf("Allow #%d = %+v, %v; want allowed with %d remaining", i+1, r, err, 2-i)
		}
	}
	r, err := f.store.Allow(ctx, "t1", l)
	if err != nil || r.Allowed != 0 {
		t.Fatalf("Allow over the burst = %+v, %v; want refused", r, err)
	}
	if r.RetryAfter <= 9*time.Second || r.RetryAfter > 10*time.Second {
		t.Errorf("RetryAfter = %s; want just under 10s (one emission interval)", r.RetryAfter)
	}
	if r.ResetAfter <= 29*time.Second || r.ResetAfter > 30*time.Second {
		t.Errorf("ResetAfter = %s; want just under 30s (three cells)", r.ResetAfter)
	}
	// Peek takes nothing.
	p1, _ := f.store.Peek(ctx, "t1", l)
	p2, _ := f.store.Peek(ctx, "t1", l)
	if p1.Remaining != 0 || p2.Remaining != 0 || p2.Allowed != 0 {
		t.Errorf("Peek after the burst = %+v then %+v; want 0 remaining, nothing taken", p1, p2)
	}
	// Another key is independent.
	if r, _ := f.store.Allow(ctx, "t2", l); r.Allowed != 1 {
		t.Errorf("Allow on another key = %+v; want allowed", r)
	}
	if !f.store.Shared() {
		t.Error("Shared() = false with Redis up")
	}
	if limits, _ := f.local.seen(); len(limits) != 0 {
		t.Errorf("the fallback was used with Redis up: %v", limits)
	}
}

func TestHoldsNeverShorten(t *testing.T) {
	srv := testredis.Start(t)
	f := newStore(t, srv, "a", "")
	ctx := context.Background()
	base := time.Now().Truncate(time.Millisecond)
	tests := []struct {
		name  string
		until time.Time
		want  time.Time
	}{
		{"first hold", base.Add(20 * time.Second), base.Add(20 * time.Second)},
		{"shorter is ignored", base.Add(5 * time.Second), base.Add(20 * time.Second)},
		{"longer extends", base.Add(40 * time.Second), base.Add(40 * time.Second)},
		{"past is ignored", base.Add(-time.Second), base.Add(40 * time.Second)},
	}
	for _, tt := range tests {
		if err := f.store.Hold(ctx, "h", tt.until); err != nil {
			t.Fatalf("%s: Hold: %v", tt.name, err)
		}
		got, err := f.store.Held(ctx, "h")
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("%s: Held = %v, %v; want %v", tt.name, got, err, tt.want)
		}
		// The Redis value itself never shortens (not only the local copy).
		v, err := f.client.Get(ctx, DefaultKeyPrefix+"hold:h").Int64()
		if err != nil || v != tt.want.UnixMilli() {
			t.Errorf("%s: Redis holds %d, %v; want %d", tt.name, v, err, tt.want.UnixMilli())
		}
	}
	if pttl := f.client.PTTL(ctx, DefaultKeyPrefix+"hold:h").Val(); pttl < 35*time.Second || pttl > 40*time.Second {
		t.Errorf("hold PTTL = %s; want about 40s", pttl)
	}
	// A hold set by another replica is seen here.
	g := newStore(t, srv, "b", "")
	if err := g.store.Hold(ctx, "other", base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.Held(ctx, "other"); !got.Equal(base.Add(time.Minute)) {
		t.Errorf("Held of another replica's hold = %v; want %v", got, base.Add(time.Minute))
	}
	if got, _ := f.store.Held(ctx, "none"); !got.IsZero() {
		t.Errorf("Held of no hold = %v; want zero", got)
	}
}

func TestKeyPrefix(t *testing.T) {
	srv := testredis.Start(t)
	f := newStore(t, srv, "a", "tenantA:")
	ctx := context.Background()
	if _, err := f.store.Allow(ctx, "k", quota.Limit{Rate: 5, Burst: 1, Per: time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Hold(ctx, "k", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	keys, err := f.client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"tenantA:rate:k": true, "tenantA:hold:k": true, "tenantA:replicas": true}
	for _, k := range keys {
		if !strings.HasPrefix(k, "tenantA:") {
			t.Errorf("key %q lacks the prefix", k)
		}
		delete(want, k)
	}
	if len(want) != 0 {
		t.Errorf("keys %v; missing %v", keys, want)
	}
}

func TestLossAndRecovery(t *testing.T) {
	srv := testredis.Start(t)
	a := newStore(t, srv, "a", "")
	b := newStore(t, srv, "b", "")
	eventually(t, "both replicas to see 2", func() bool { return a.store.Replicas() == 2 && b.store.Replicas() == 2 })
	ctx := context.Background()
	l := quota.Limit{Rate: 10, Burst: 3, Per: time.Minute}

	srv.Stop()
	b.store.Close() // b stops heartbeating; a still counts it as last seen
	r, err := a.store.Allow(ctx, "k", l)
	if err != nil || r.Allowed != 1 {
		t.Fatalf("Allow with Redis down = %+v, %v; want served locally", r, err)
	}
	// The answer says it is under the local share, for the scheduler's
	// estimates.
	if share := (quota.Limit{Rate: 5, Burst: 1, Per: time.Minute}); r.Applied != share || r.Under(l) != share {
		t.Errorf("Applied = %+v with Redis down; want the local share %+v", r.Applied, share)
	}
	if p, _ := a.store.Peek(ctx, "k", l); p.Applied.Rate != 5 {
		t.Errorf("Peek's Applied = %+v with Redis down; want the local share", p.Applied)
	}
	if a.store.Shared() {
		t.Error("Shared() = true with Redis down")
	}
	// The local share is 1/2: Rate 5, Burst 1.
	if r, _ := a.store.Allow(ctx, "k", l); r.Allowed != 0 {
		t.Errorf("second Allow in the local share = %+v; want refused (burst 3/2 = 1)", r)
	}
	limits, keys := a.local.seen()
	for _, got := range limits {
		if got != (quota.Limit{Rate: 5, Burst: 1, Per: time.Minute}) {
			t.Errorf("fallback limit %+v; want Rate 5 Burst 1 Per 1m", got)
		}
	}
	firstKey := keys[0]
	if n := strings.Count(a.logs.String(), "redis lost: quota falls back to a local share of 1/2"); n != 1 {
		t.Errorf("loss logged %d times; want once:\n%s", n, a.logs.String())
	}
	if !strings.Contains(a.logs.String(), "level=WARN") {
		t.Errorf("loss not at warn:\n%s", a.logs.String())
	}
	// A hold during the loss is kept locally.
	until := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	if err := a.store.Hold(ctx, "h", until); err != nil {
		t.Fatal(err)
	}

	srv.Restart()
	eventually(t, "Shared() to flip back", a.store.Shared)
	if !strings.Contains(a.logs.String(), "level=INFO msg=\"redis recovered") {
		t.Errorf("recovery not logged at info:\n%s", a.logs.String())
	}
	if got, _ := a.store.Held(ctx, "h"); !got.Equal(until) {
		t.Errorf("Held after recovery = %v; want the hold set while lost, %v", got, until)
	}
	if r, err := a.store.Allow(ctx, "k", l); err != nil || r.Allowed != 1 || r.Remaining != 2 || r.Applied != (quota.Limit{}) {
		t.Errorf("Allow after recovery = %+v, %v; want the shared limiter (a fresh Redis) with 2 left, under the limit asked", r, err)
	}

	// A second loss starts fresh local limiters (a new key).
	srv.Stop()
	if r, _ := a.store.Allow(ctx, "k", l); r.Allowed != 1 {
		t.Errorf("first Allow of the second loss = %+v; want allowed (fresh)", r)
	}
	_, keys = a.local.seen()
	if last := keys[len(keys)-1]; last == firstKey || !strings.HasSuffix(last, ":k") {
		t.Errorf("second loss used key %q; want a fresh one unlike %q", last, firstKey)
	}
}

func TestScaleLimit(t *testing.T) {
	tests := []struct {
		l    quota.Limit
		n    int
		want quota.Limit
	}{
		{quota.Limit{Rate: 90, Burst: 10, Per: time.Minute}, 1, quota.Limit{Rate: 90, Burst: 10, Per: time.Minute}},
		{quota.Limit{Rate: 90, Burst: 10, Per: time.Minute}, 3, quota.Limit{Rate: 30, Burst: 3, Per: time.Minute}},
		{quota.Limit{Rate: 2, Burst: 1, Per: time.Second}, 5, quota.Limit{Rate: 1, Burst: 1, Per: time.Second}},
		{quota.Limit{Rate: 7, Burst: 4, Per: time.Hour}, 0, quota.Limit{Rate: 7, Burst: 4, Per: time.Hour}},
	}
	for _, tt := range tests {
		if got := ScaleLimit(tt.l, tt.n); got != tt.want {
			t.Errorf("ScaleLimit(%+v, %d) = %+v; want %+v", tt.l, tt.n, got, tt.want)
		}
	}
}

// A Redis that answers too slowly counts as lost, like one that is down.
func TestSlowRedisCountsAsLost(t *testing.T) {
	srv := testredis.Start(t)
	f := newStore(t, srv, "a", "")
	ctx := context.Background()
	l := quota.Limit{Rate: 10, Burst: 2, Per: time.Minute}
	if r, err := f.store.Allow(ctx, "k", l); err != nil || r.Allowed != 1 {
		t.Fatalf("Allow = %+v, %v", r, err)
	}
	// CLIENT PAUSE holds every other client's commands for 1.5s, far past
	// the 200ms command timeout.
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "1500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	r, err := f.store.Allow(ctx, "k", l)
	if err != nil || r.Allowed != 1 || f.store.Shared() {
		t.Fatalf("Allow while Redis stalls = %+v, %v, shared %v; want served locally", r, err, f.store.Shared())
	}
	if limits, _ := f.local.seen(); len(limits) != 1 || limits[0] != l {
		t.Errorf("fallback limits %v; want %+v (one replica)", limits, l)
	}
	// A caller's own deadline is its error, not a loss.
	eventually(t, "recovery after the pause", f.store.Shared)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.store.Allow(cctx, "k", l); err == nil || !f.store.Shared() {
		t.Errorf("Allow with a canceled context = %v, shared %v; want the context's error and still shared", err, f.store.Shared())
	}
}
