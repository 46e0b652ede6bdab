package app

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
	"github.com/defender-gateway/gateway/internal/defender/credentials"
	"github.com/defender-gateway/gateway/internal/testredis"
)

func redisConfig(srv *testredis.Server) *config.Config {
	return &config.Config{Redis: config.Redis{
		URL: config.Secret(strings.Replace(srv.URL(), "redis://", "redis://gw:pw@", 1)), KeyPrefix: "app:",
		CommandTimeout: time.Second, SharePageTokenKey: true,
	}}
}

func TestPageTokenCodecSharedThroughRedis(t *testing.T) {
	srv := testredis.Start(t)
	// The server has no password; the test only needs the URL's user info
	// to be dropped from logs, so use the plain URL for connecting.
	cfg := redisConfig(srv)
	cfg.Redis.URL = config.Secret(srv.URL())
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	a, err := openSharedState(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	b, _ := openSharedState(cfg, logger)
	defer b.close()
	ca, err := pageTokenCodec(cfg, a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := pageTokenCodec(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	token, err := ca.Encode(map[string]int{"skip": 3})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := cb.Decode(token, &got); err != nil || got["skip"] != 3 {
		t.Fatalf("replica b decodes a's token: %v, %v", got, err)
	}
	a.logMode(logger)
	if !strings.Contains(logs.String(), "quota state is shared through redis") {
		t.Errorf("no start record of Redis mode:\n%s", logs.String())
	}

	// Redis down at start: refuse rather than sign with a key of our own.
	srv.Stop()
	c, _ := openSharedState(cfg, logger)
	defer c.close()
	if _, err := pageTokenCodec(cfg, c); err == nil || !strings.Contains(err.Error(), "DEFENDER_REDIS_SHARE_PAGE_TOKEN_KEY") {
		t.Errorf("with Redis down: %v; want an error naming the setting", err)
	}
}

func TestShareSignInsKey(t *testing.T) {
	srv := testredis.Start(t)
	userKey := bytes.Repeat([]byte{1}, 32)
	pageKey := bytes.Repeat([]byte{2}, 32)
	tests := []struct {
		name       string
		mutate     func(c *config.Config)
		wantShared bool
		wantKey    []byte // nil: derived, checked to differ from the page key
	}{
		{"user cache key", func(c *config.Config) { c.UserCacheKey = userKey; c.PageTokenKey = pageKey }, true, userKey},
		{"derived from the page-token key", func(c *config.Config) { c.PageTokenKey = pageKey }, true, nil},
		{"page-token key only in redis", func(c *config.Config) {}, false, nil},
		{"no redis", func(c *config.Config) { c.Redis = config.Redis{} }, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := redisConfig(srv)
			tt.mutate(cfg)
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			s, err := openSharedState(cfg, logger)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			var opts credentials.DeviceLoginsOptions
			if err := s.shareSignIns(cfg, &opts, logger); err != nil {
				t.Fatal(err)
			}
			if (opts.SharedCache != nil) != tt.wantShared {
				t.Fatalf("shared = %v; want %v", opts.SharedCache != nil, tt.wantShared)
			}
			if !tt.wantShared {
				if cfg.Redis.Enabled() && !strings.Contains(logs.String(), "not shared through redis") {
					t.Errorf("no warning:\n%s", logs.String())
				}
				return
			}
			if len(opts.SharedCacheKey) != 32 {
				t.Fatalf("key of %d bytes", len(opts.SharedCacheKey))
			}
			if tt.wantKey != nil && !bytes.Equal(opts.SharedCacheKey, tt.wantKey) {
				t.Error("the user cache key was not used")
			}
			if tt.wantKey == nil && bytes.Equal(opts.SharedCacheKey, pageKey) {
				t.Error("the page-token key itself seals the sign-ins")
			}
			if strings.Contains(logs.String(), "pw@") {
				t.Errorf("a log line holds the URL's password:\n%s", logs.String())
			}
		})
	}
}

// TestDeviceLoginOptionsKeyWithoutFile: with Redis, DEFENDER_USER_CACHE_KEY
// alone (no cache file) seals the shared sign-ins, and the device logins
// build; with a file it seals the file too.
func TestDeviceLoginOptionsKeyWithoutFile(t *testing.T) {
	srv := testredis.Start(t)
	userKey := bytes.Repeat([]byte{1}, 32)
	tests := []struct {
		name     string
		file     string
		wantFile bool
	}{
		{"redis alone", "", false},
		{"redis and a file", "users.cache", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := redisConfig(srv)
			cfg.ClientID, cfg.UserCacheKey = "client", userKey
			if tt.file != "" {
				cfg.UserCacheFile = t.TempDir() + "/" + tt.file
			}
			logger := slog.New(slog.DiscardHandler)
			s, err := openSharedState(cfg, logger)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			opts, err := deviceLoginOptions(cfg, s, nil, logger)
			if err != nil {
				t.Fatal(err)
			}
			if opts.SharedCache == nil || !bytes.Equal(opts.SharedCacheKey, userKey) {
				t.Errorf("the sign-ins are not shared with the user cache key: %v", opts.SharedCache)
			}
			if got := len(opts.CacheKey) > 0; got != tt.wantFile {
				t.Errorf("file key set = %v; want %v", got, tt.wantFile)
			}
			logins, err := credentials.NewDeviceLogins(opts)
			if err != nil {
				t.Fatalf("NewDeviceLogins: %v", err)
			}
			logins.Close()
		})
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSharedPageTokenKeyOutlivesARedisRestart: a Redis restarted empty
// gets the running replicas' page-token key back, so a replica started
// afterwards accepts their tokens; a different key found there is logged
// once.
func TestSharedPageTokenKeyOutlivesARedisRestart(t *testing.T) {
	srv := testredis.Start(t)
	cfg := redisConfig(srv)
	cfg.Redis.URL = config.Secret(srv.URL())
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	a, err := openSharedState(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	a.keyEvery = 10 * time.Millisecond
	ca, err := pageTokenCodec(cfg, a)
	if err != nil {
		t.Fatal(err)
	}
	token, err := ca.Encode(map[string]int{"skip": 3})
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	srv.Restart()
	waitFor("the key to be stored again", func() bool { return rdb.Exists(ctx, "app:page-token-key").Val() == 1 })
	later, err := openSharedState(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer later.close()
	cl, err := pageTokenCodec(cfg, later)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := cl.Decode(token, &got); err != nil || got["skip"] != 3 {
		t.Errorf("a replica started after the restart decodes the older one's token: %v, %v", got, err)
	}
	if !strings.Contains(logs.String(), "this replica stored its key again") {
		t.Errorf("no record of the key stored again:\n%s", logs.String())
	}

	later.close()
	if err := rdb.Set(ctx, "app:page-token-key", bytes.Repeat([]byte{5}, 32), 0).Err(); err != nil {
		t.Fatal(err)
	}
	const differs = "the shared page-token key in redis is not this replica's"
	waitFor("the different key to be logged", func() bool { return strings.Contains(logs.String(), differs) })
	time.Sleep(100 * time.Millisecond) // ten more rounds
	if n := strings.Count(logs.String(), differs); n != 1 {
		t.Errorf("the different key was logged %d times; want once:\n%s", n, logs.String())
	}
}
