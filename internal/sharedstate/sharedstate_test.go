package sharedstate

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/testredis"
)

func open(t *testing.T, srv *testredis.Server) *redis.Client {
	t.Helper()
	c, err := Open(config.Redis{URL: config.Secret(srv.URL()), KeyPrefix: "p:", CommandTimeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.Redis
		wantErr bool
	}{
		{"no url", config.Redis{}, true},
		{"bad url", config.Redis{URL: "redis://:secretpw@[::1"}, true},
		{"ok", config.Redis{URL: "redis://u:pw@127.0.0.1:1/3", CommandTimeout: 100 * time.Millisecond}, false},
	}
	for _, tt := range tests {
		c, err := Open(tt.cfg, nil)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: Open error = %v; want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), []byte("secretpw")) {
			t.Errorf("%s: error %q quotes the password", tt.name, err)
		}
		if c != nil {
			if o := c.Options(); o.DB != 3 || o.Password != "pw" || o.ReadTimeout != 100*time.Millisecond || o.MaxRetries > 0 || o.DialerRetries != 1 || !o.ContextTimeoutEnabled {
				t.Errorf("%s: options %+v", tt.name, o)
			}
			c.Close()
		}
	}
}

func TestPageTokenKeyShared(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	// Many replicas race for the first key: all get one and the same.
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		c := open(t, srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = PageTokenKey(ctx, c, "p:")
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if len(keys[i]) != PageTokenKeySize || !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("replica %d got a different key (%d bytes)", i, len(keys[i]))
		}
	}
	if bytes.Equal(keys[0], make([]byte, PageTokenKeySize)) {
		t.Error("the key is all zeros")
	}
	// Another prefix is another key; a later call reads the stored one.
	other, err := PageTokenKey(ctx, open(t, srv), "q:")
	if err != nil || bytes.Equal(other, keys[0]) {
		t.Errorf("prefix q: got the same key (%v)", err)
	}
	again, _ := PageTokenKey(ctx, open(t, srv), "p:")
	if !bytes.Equal(again, keys[0]) {
		t.Error("a later call drew a new key")
	}
	if ttl := open(t, srv).TTL(ctx, "p:page-token-key").Val(); ttl != -1 {
		t.Errorf("TTL = %s; want none (-1)", ttl)
	}
	// Redis down: an error, never a key of one's own.
	srv.Stop()
	if k, err := PageTokenKey(ctx, open(t, srv), "r:"); err == nil || k != nil {
		t.Errorf("with Redis down: %x, %v; want an error", k, err)
	}
}

func TestBlobsCompareAndSwap(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	a, b := NewBlobs(open(t, srv), "p:signins:"), NewBlobs(open(t, srv), "p:signins:")

	if d, v, err := a.Load(ctx, "t1"); err != nil || v != 0 || d != nil {
		t.Fatalf("Load of nothing = %q, %d, %v", d, v, err)
	}
	v1, err := a.CompareAndSwap(ctx, "t1", 0, []byte("one"))
	if err != nil || v1 != 1 {
		t.Fatalf("first CAS = %d, %v", v1, err)
	}
	// b read nothing before a wrote: its write conflicts.
	if _, err := b.CompareAndSwap(ctx, "t1", 0, []byte("two")); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale CAS = %v; want ErrConflict", err)
	}
	d, v, err := b.Load(ctx, "t1")
	if err != nil || v != 1 || string(d) != "one" {
		t.Fatalf("Load = %q, %d, %v", d, v, err)
	}
	if v2, err := b.CompareAndSwap(ctx, "t1", v, []byte("two")); err != nil || v2 != 2 {
		t.Fatalf("CAS after reload = %d, %v", v2, err)
	}
	if d, _, _ := a.Load(ctx, "t1"); string(d) != "two" {
		t.Errorf("a reads %q; want two", d)
	}
	names, err := a.Names(ctx)
	if err != nil || len(names) != 1 || names[0] != "t1" {
		t.Errorf("Names = %v, %v", names, err)
	}
	// Binary data survive.
	bin := []byte{0, 0xff, '\r', '\n', 0}
	if _, err := a.CompareAndSwap(ctx, "bin", 0, bin); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := b.Load(ctx, "bin"); !bytes.Equal(d, bin) {
		t.Errorf("binary data = %x; want %x", d, bin)
	}
}

// TestEnsurePageTokenKey: a running replica's key is stored back into a
// Redis restarted empty, and a different key already there is reported.
func TestEnsurePageTokenKey(t *testing.T) {
	srv := testredis.Start(t)
	c := open(t, srv)
	ctx := context.Background()
	key, err := PageTokenKey(ctx, c, "p:")
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte{5}, PageTokenKeySize)
	tests := []struct {
		name         string
		before       func()
		same, stored bool
	}{
		{"the key is there", func() {}, true, false},
		{"redis restarted empty", srv.Restart, true, true},
		{"another key is there", func() { c.Set(ctx, "p:page-token-key", other, 0) }, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.before()
			same, stored, err := EnsurePageTokenKey(ctx, c, "p:", key)
			if err != nil || same != tt.same || stored != tt.stored {
				t.Fatalf("EnsurePageTokenKey = same %v, stored %v, %v; want %v, %v", same, stored, err, tt.same, tt.stored)
			}
			want := key
			if !tt.same {
				want = other
			}
			if got, _ := c.Get(ctx, "p:page-token-key").Bytes(); !bytes.Equal(got, want) {
				t.Error("Redis holds the wrong key")
			}
		})
	}
	srv.Stop()
	if _, _, err := EnsurePageTokenKey(ctx, c, "p:", key); err == nil {
		t.Error("EnsurePageTokenKey with Redis down succeeded")
	}
}
