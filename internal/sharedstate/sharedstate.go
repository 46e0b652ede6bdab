package sharedstate

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/defender-gateway/gateway/internal/config"
)

// Open returns a client of cfg.URL with cfg.CommandTimeout as its read and
// write timeout. It does not connect: a Redis that is down at start makes
// the quota begin in its local share. Its errors never quote the URL.
func Open(cfg config.Redis, logger *slog.Logger) (*redis.Client, error) {
	if !cfg.Enabled() {
		return nil, errors.New("sharedstate: no Redis URL is configured")
	}
	opts, err := redis.ParseURL(string(cfg.URL))
	if err != nil {
		return nil, errors.New("sharedstate: DEFENDER_REDIS_URL cannot be parsed")
	}
	if cfg.CommandTimeout > 0 {
		opts.ReadTimeout = cfg.CommandTimeout
		opts.WriteTimeout = cfg.CommandTimeout
		opts.DialTimeout = max(cfg.CommandTimeout, time.Second)
	}
	// The callers bound and retry on their own terms (the quota falls back
	// at once); go-redis's own retries would stretch a loss.
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	// Honour the callers' context deadlines too (go-redis ignores them
	// otherwise), so a command never outlasts the call it serves.
	opts.ContextTimeoutEnabled = true
	if logger != nil {
		logger.Info("redis configured", "url", cfg.RedactedURL(), "key_prefix", cfg.KeyPrefix)
		setRedisLogger.Do(func() { redis.SetLogger(debugLogger{logger}) })
	}
	return redis.NewClient(opts), nil
}

// setRedisLogger routes go-redis's own messages (pool and dial errors,
// which the quota's loss and recovery records already summarize) to the
// first opener's logger at debug, instead of unstructured lines on stderr.
// go-redis has one logger per process.
var setRedisLogger sync.Once

type debugLogger struct{ l *slog.Logger }

func (d debugLogger) Printf(ctx context.Context, format string, v ...any) {
	d.l.DebugContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
}

// PageTokenKeySize is the size of a shared page-token key.
const PageTokenKeySize = 32

// PageTokenKey returns the page-token key every replica shares: the first
// replica to ask draws PageTokenKeySize random bytes and stores them with
// SET NX (no expiry) under prefix+"page-token-key"; every later call reads
// that value. It fails when Redis does not answer: the caller must not
// start with a key of its own, which would break other replicas' tokens.
func PageTokenKey(ctx context.Context, client *redis.Client, prefix string) ([]byte, error) {
	key := prefix + "page-token-key"
	fresh := make([]byte, PageTokenKeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("sharedstate: draw a page-token key: %v", err)
	}
	if err := client.SetNX(ctx, key, fresh, 0).Err(); err != nil {
		return nil, fmt.Errorf("sharedstate: store the shared page-token key: %w", redisError(err))
	}
	clear(fresh)
	got, err := client.Get(ctx, key).Bytes()
	if err != nil {
		return nil, fmt.Errorf("sharedstate: read the shared page-token key: %w", redisError(err))
	}
	if len(got) < PageTokenKeySize {
		return nil, fmt.Errorf("sharedstate: the shared page-token key in Redis (%s) has %d bytes, want %d", key, len(got), PageTokenKeySize)
	}
	return got, nil
}

// redisError keeps an error's kind but drops go-redis's text, which can
// name the server's address.
func redisError(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, redis.Nil):
		return errors.New("key not found")
	default:
		return errors.New("redis unavailable")
	}
}

// EnsurePageTokenKey stores key as the shared page-token key when Redis
// holds none (SET NX: a Redis restarted empty gets the running replicas'
// key back rather than one a replica started later would draw), and
// reports whether the key Redis holds is key. stored is true when this
// call stored it.
func EnsurePageTokenKey(ctx context.Context, client *redis.Client, prefix string, key []byte) (same, stored bool, err error) {
	name := prefix + "page-token-key"
	stored, err = client.SetNX(ctx, name, key, 0).Result()
	if err != nil {
		return false, false, fmt.Errorf("sharedstate: store the shared page-token key: %w", redisError(err))
	}
	if stored {
		return true, true, nil
	}
	got, err := client.Get(ctx, name).Bytes()
	if err != nil {
		return false, false, fmt.Errorf("sharedstate: read the shared page-token key: %w", redisError(err))
	}
	return bytes.Equal(got, key), false, nil
}
