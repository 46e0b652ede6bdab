package redisshare

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/testredis"
	"github.com/defender-gateway/gateway/internal/watch"
)

func TestNew(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"no client", Options{Holder: "a", LeaseTTL: time.Second}, "no Redis client"},
		{"no holder", Options{Client: c, LeaseTTL: time.Second}, "no holder"},
		{"lease under a second", Options{Client: c, Holder: "a", LeaseTTL: 999 * time.Millisecond}, "at least 1s"},
		{"ok", Options{Client: c, Holder: "a", LeaseTTL: time.Second}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.o)
			if tt.wantErr == "" {
				if err != nil || s.o.Retention != 24*time.Hour || s.o.MaxRounds != 10_000 {
					t.Fatalf("New: %v, options %+v; want the default retention and bound", err, s.o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v; want %q", err, tt.wantErr)
			}
		})
	}
}

// TestLease: the lease is exclusive, renewed by its holder, released only
// by it, and free for another once it expires.
func TestLease(t *testing.T) {
	srv := testredis.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	a, b := newStore(t, c, "a", "p:"), newStore(t, newClient(t, srv), "b", "p:")
	other := newStore(t, c, "b", "q:")
	lead := func(s *Store, want bool) {
		t.Helper()
		if got, err := s.Lead(ctx, "k"); err != nil || got != want {
			t.Fatalf("%s Lead = %v, %v; want %v", s.o.Holder, got, err, want)
		}
	}
	lead(a, true)
	lead(b, false)
	lead(a, true)
	// Another prefix is another lease.
	lead(other, true)

	// Renewal restores the full TTL.
	if err := c.PExpire(ctx, "p:watch:k:lease", 100*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	lead(a, true)
	if ttl := c.PTTL(ctx, "p:watch:k:lease").Val(); ttl < 500*time.Millisecond || ttl > time.Second {
		t.Errorf("PTTL after renewal %v; want about 1s", ttl)
	}
	if holder := c.Get(ctx, "p:watch:k:lease").Val(); holder != "a" {
		t.Errorf("lease holder %q", holder)
	}

	// Only the holder releases.
	if err := b.Release(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	lead(b, false)
	if err := a.Release(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	lead(b, true)
	lead(a, false)

	// Unrenewed, b's lease expires and a takes it.
	start := time.Now()
	eventually(t, "the lease to expire", func() bool { ok, err := a.Lead(ctx, "k"); return err == nil && ok })
	if held := time.Since(start); held < 500*time.Millisecond {
		t.Errorf("the 1s lease expired after %v", held)
	}
	lead(b, false)
}

func sampleRound(n int) (watch.Round, watch.State) {
	from := time.Date(2026, 1, 1, 10, 0, 0, 123456789, time.UTC)
	inc := defender.Incident{
		ID: "i" + string(rune('0'+n)), TenantID: "t", DisplayName: "Ünïcode \"quoted\"", Status: defender.StatusRedirected,
		RedirectIncidentID: "t1", Severity: defender.SeverityHigh, Tags: []string{"x"},
		CreateTime: from.Add(-time.Hour), UpdateTime: from.Add(time.Duration(n) * time.Second),
		Comments: []defender.Comment{{Text: "c", Author: "me", CreateTime: from}},
		Alerts:   []defender.Alert{{ID: "a1", Evidence: []defender.Evidence{{Type: "file", SHA256: "ab", Details: map[string]any{"k": "v"}}}}},
	}
	r := watch.Round{
		Events: []watch.Event{{Kind: watch.Redirected, Incident: inc, Target: &defender.Incident{ID: "t1"}}, {Kind: watch.Created, Incident: defender.Incident{ID: "n"}}},
		From:   from, After: from.Add(time.Duration(n) * time.Second),
	}
	st := watch.State{Watermark: r.After, Seen: map[string]time.Time{inc.ID: inc.UpdateTime}}
	return r, st
}

// TestPublish: only the lease holder publishes, and a round and the state
// after it are written together, kept for the retention.
func TestPublish(t *testing.T) {
	srv := testredis.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	a, b := newStore(t, c, "a", "p:"), newStore(t, c, "b", "p:")
	r1, st1 := sampleRound(1)
	publish := func(s *Store, r watch.Round, st watch.State, want bool) {
		t.Helper()
		if got, err := s.Publish(ctx, "k", r, st); err != nil || got != want {
			t.Fatalf("%s Publish = %v, %v; want %v", s.o.Holder, got, err, want)
		}
	}
	// Nobody leads: refused.
	publish(a, r1, st1, false)
	if ok, _ := a.Lead(ctx, "k"); !ok {
		t.Fatal("a does not lead")
	}
	publish(b, r1, st1, false)
	if n := c.XLen(ctx, "p:watch:k:rounds").Val(); n != 0 {
		t.Fatalf("%d rounds after refused publishes", n)
	}
	if _, found, err := a.LoadState(ctx, "k"); found || err != nil {
		t.Fatalf("state after refused publishes: found %v, %v", found, err)
	}

	publish(a, r1, st1, true)
	got, found, err := b.LoadState(ctx, "k")
	if err != nil || !found {
		t.Fatalf("LoadState: %v, %v", found, err)
	}
	if diff := cmp.Diff(st1, got); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	rounds, err := b.Read(ctx, "k", "0", 0)
	if err != nil || len(rounds) != 1 {
		t.Fatalf("Read: %d rounds, %v", len(rounds), err)
	}
	if diff := cmp.Diff(r1, rounds[0].Round); diff != "" {
		t.Errorf("round (-want +got):\n%s", diff)
	}
	for _, key := range []string{"p:watch:k:state", "p:watch:k:rounds"} {
		if ttl := c.PTTL(ctx, key).Val(); ttl < 59*time.Minute || ttl > time.Hour {
			t.Errorf("%s PTTL %v; want the 1h retention", key, ttl)
		}
	}

	// Once a's lease is gone (released, or expired and taken), a's
	// publish is refused and changes neither the rounds nor the state.
	if err := a.Release(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Lead(ctx, "k"); !ok {
		t.Fatal("b does not lead")
	}
	r2, st2 := sampleRound(2)
	publish(a, r2, st2, false)
	if n := c.XLen(ctx, "p:watch:k:rounds").Val(); n != 1 {
		t.Errorf("%d rounds after a's refused publish; want 1", n)
	}
	if got, _, _ := b.LoadState(ctx, "k"); !got.Watermark.Equal(st1.Watermark) {
		t.Errorf("state watermark %v after a's refused publish; want %v", got.Watermark, st1.Watermark)
	}
	publish(b, r2, st2, true)
	if got, _, _ := a.LoadState(ctx, "k"); !got.Watermark.Equal(st2.Watermark) {
		t.Errorf("state watermark %v; want b's %v", got.Watermark, st2.Watermark)
	}
}

// TestState: InitState writes only a missing state; a state that does not
// decode is an error.
func TestState(t *testing.T) {
	srv := testredis.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	s := newStore(t, c, "a", "p:")
	if _, found, err := s.LoadState(ctx, "k"); found || err != nil {
		t.Fatalf("LoadState of nothing: %v, %v", found, err)
	}
	first := watch.State{Watermark: time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC)}
	second := watch.State{Watermark: first.Watermark.Add(time.Hour), Seen: map[string]time.Time{"x": first.Watermark}}
	for _, st := range []watch.State{first, second} {
		if err := s.InitState(ctx, "k", st); err != nil {
			t.Fatal(err)
		}
	}
	got, found, err := s.LoadState(ctx, "k")
	if err != nil || !found {
		t.Fatalf("LoadState: %v, %v", found, err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("state (-want the first +got):\n%s", diff)
	}
	if ttl := c.PTTL(ctx, "p:watch:k:state").Val(); ttl < 59*time.Minute {
		t.Errorf("state PTTL %v; want the retention", ttl)
	}
	c.Set(ctx, "p:watch:k:state", "{not json", 0)
	if _, _, err := s.LoadState(ctx, "k"); err == nil || !strings.Contains(err.Error(), "does not decode") {
		t.Errorf("LoadState of garbage: %v", err)
	}
}

// TestTailRead: Tail is the newest round's id; Read returns the rounds
// after an id in order, waits for one up to its block, and passes over a
// round that does not decode as an empty one.
func TestTailRead(t *testing.T) {
	srv := testredis.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	s := newStore(t, c, "a", "p:")
	if tail, err := s.Tail(ctx, "k"); err != nil || tail != "0" {
		t.Fatalf("Tail of nothing = %q, %v; want 0", tail, err)
	}
	if rounds, err := s.Read(ctx, "k", "0", 20*time.Millisecond); err != nil || rounds != nil {
		t.Fatalf("Read of nothing = %v, %v", rounds, err)
	}
	if ok, _ := s.Lead(ctx, "k"); !ok {
		t.Fatal("no lease")
	}
	var ids []string
	for n := range 3 {
		r, st := sampleRound(n)
		if ok, err := s.Publish(ctx, "k", r, st); !ok || err != nil {
			t.Fatalf("Publish: %v, %v", ok, err)
		}
		tail, err := s.Tail(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tail)
	}
	read := func(after string, block time.Duration) []string {
		t.Helper()
		rounds, err := s.Read(ctx, "k", after, block)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range rounds {
			got = append(got, p.ID)
		}
		return got
	}
	if diff := cmp.Diff(ids, read("0", 0)); diff != "" {
		t.Errorf("Read from 0 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids[1:], read(ids[0], 0)); diff != "" {
		t.Errorf("Read after the first (-want +got):\n%s", diff)
	}
	if got := read(ids[2], 20*time.Millisecond); got != nil {
		t.Errorf("Read after the last = %v", got)
	}

	// A Read waiting at the tail returns the next round published.
	type result struct {
		rounds []watch.Published
		err    error
	}
	done := make(chan result, 1)
	go func() {
		rounds, err := s.Read(ctx, "k", ids[2], 5*time.Second)
		done <- result{rounds, err}
	}()
	// Published before or after the XREAD begins, the round is after
	// ids[2]: either way the Read returns it.
	r3, st3 := sampleRound(3)
	if ok, err := s.Publish(ctx, "k", r3, st3); !ok || err != nil {
		t.Fatal(ok, err)
	}
	select {
	case res := <-done:
		if res.err != nil || len(res.rounds) != 1 {
			t.Fatalf("blocked Read = %d rounds, %v", len(res.rounds), res.err)
		}
		if diff := cmp.Diff(r3, res.rounds[0].Round); diff != "" {
			t.Errorf("blocked Read's round (-want +got):\n%s", diff)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the blocked Read did not return the published round")
	}

	// A round this version did not write.
	bad := c.XAdd(ctx, &redis.XAddArgs{Stream: "p:watch:k:rounds", Values: map[string]any{"r": "{not json"}}).Val()
	rounds, err := s.Read(ctx, "k", ids[2], 0)
	if err != nil || len(rounds) != 2 || rounds[1].ID != bad {
		t.Fatalf("Read past a bad round = %+v, %v", rounds, err)
	}
	if diff := cmp.Diff(watch.Round{}, rounds[1].Round); diff != "" {
		t.Errorf("bad round read as (-want +got):\n%s", diff)
	}
}

// TestMaxRounds: the stream is trimmed to about MaxRounds.
func TestMaxRounds(t *testing.T) {
	srv := testredis.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	s, err := New(Options{Client: c, Holder: "a", LeaseTTL: time.Second, MaxRounds: 10})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Lead(ctx, "k"); !ok {
		t.Fatal("no lease")
	}
	for range 500 {
		if ok, err := s.Publish(ctx, "k", watch.Round{}, watch.State{}); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	// MAXLEN ~ trims whole stream nodes (100 entries by default).
	if n := c.XLen(ctx, "watch:k:rounds").Val(); n < 10 || n > 210 {
		t.Errorf("%d rounds kept of 500; want about 10", n)
	}
}
