package app

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/defender/credentials"
	"github.com/defender-gateway/gateway/internal/sharedstate"
)

// sharedState is the Redis connection of Redis mode (nil without
// DEFENDER_REDIS_URL) and what Build reads through it.
type sharedState struct {
	cfg    config.Redis
	client *redis.Client
	log    *slog.Logger
	// keyEvery is how often a page-token key shared through Redis is
	// stored back (keepPageTokenKey); stop and done end that loop.
	keyEvery   time.Duration
	stop, done chan struct{}
}

// pageTokenKeyEvery is how often a replica stores its shared page-token
// key back into Redis when Redis has lost it.
const pageTokenKeyEvery = 2 * time.Second

// openSharedState opens cfg.Redis when configured; it does not connect.
func openSharedState(cfg *config.Config, logger *slog.Logger) (*sharedState, error) {
	if !cfg.Redis.Enabled() {
		return &sharedState{cfg: cfg.Redis}, nil
	}
	client, err := sharedstate.Open(cfg.Redis, logger)
	if err != nil {
		return nil, err
	}
	return &sharedState{cfg: cfg.Redis, client: client, log: logger, keyEvery: pageTokenKeyEvery}, nil
}

// Client is the Redis client, nil without Redis (for the quota store:
// redisstore.New(redisstore.Options{Client: ..., KeyPrefix: cfg.Redis.KeyPrefix, ...})).
func (s *sharedState) Client() *redis.Client { return s.client }

func (s *sharedState) close() {
	if s == nil {
		return
	}
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	if s.client != nil {
		_ = s.client.Close()
	}
}

// logMode is the start record saying where quota state lives.
func (s *sharedState) logMode(logger *slog.Logger) {
	if s.client == nil {
		logger.Info("quota state is in memory on this replica alone (no DEFENDER_REDIS_URL)", "shared", false)
		return
	}
	logger.Info("quota state is shared through redis", "shared", true, "redis_url", s.cfg.RedactedURL(), "key_prefix", s.cfg.KeyPrefix)
}

// pageTokenKey is the configured key, or the one shared in Redis with
// DEFENDER_REDIS_SHARE_PAGE_TOKEN_KEY; nil for a random key per process.
func (s *sharedState) pageTokenKey(cfg *config.Config) ([]byte, error) {
	if len(cfg.PageTokenKey) > 0 {
		return cfg.PageTokenKey, nil
	}
	if s.client == nil || !cfg.Redis.SharePageTokenKey {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedStartTimeout(cfg.Redis))
	defer cancel()
	key, err := sharedstate.PageTokenKey(ctx, s.client, cfg.Redis.KeyPrefix)
	if err != nil {
		return nil, fmt.Errorf("DEFENDER_REDIS_SHARE_PAGE_TOKEN_KEY: the shared page-token key cannot be had from redis %s, and a key of this replica's own would break the others' page tokens: %w", cfg.Redis.RedactedURL(), err)
	}
	s.keepPageTokenKey(key)
	return key, nil
}

// keepPageTokenKey stores key back into Redis every keyEvery when Redis
// holds none, so that a Redis restarted empty gets the running replicas'
// key again before a replica started later draws another one; a different
// key found there is logged once (until the key is this one again).
// close ends it.
func (s *sharedState) keepPageTokenKey(key []byte) {
	log := s.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		tick := time.NewTicker(s.keyEvery)
		defer tick.Stop()
		differs := false
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), max(time.Second, s.cfg.CommandTimeout))
			same, stored, err := sharedstate.EnsurePageTokenKey(ctx, s.client, s.cfg.KeyPrefix, key)
			cancel()
			switch {
			case err != nil:
				// Redis lost: the quota's records say so; try again later.
				continue
			case stored:
				log.Warn("the shared page-token key was missing from redis (restarted empty?): this replica stored its key again")
			case !same && !differs:
				log.Error("the shared page-token key in redis is not this replica's: page tokens of replicas that read it are refused here and the other way round; restart the replicas, or set DEFENDER_PAGE_TOKEN_KEY on all of them")
			}
			differs = !same
		}
	}()
}

// sharedStartTimeout bounds what Build reads from Redis at start: a few
// command timeouts, for a Redis that is still coming up.
func sharedStartTimeout(r config.Redis) time.Duration { return max(5*time.Second, 10*r.CommandTimeout) }

// userCacheInfo is the key derivation's label: a key of its own for the
// shared sign-ins, never the page-token key itself.
const userCacheInfo = "defender-gateway shared user cache v1"

// shareSignIns sets opts to keep the device-code sign-ins in Redis. The
// cache is sealed with DEFENDER_USER_CACHE_KEY, else with a key derived
// (HKDF-SHA256) from a configured DEFENDER_PAGE_TOKEN_KEY; a page-token
// key that itself lives in Redis is not used, since the sealed tokens
// would then sit beside their key. Without either, the sign-ins stay on
// each replica and a warning says so.
func (s *sharedState) shareSignIns(cfg *config.Config, opts *credentials.DeviceLoginsOptions, logger *slog.Logger) error {
	if s.client == nil {
		return nil
	}
	key := []byte(cfg.UserCacheKey)
	if len(key) == 0 && len(cfg.PageTokenKey) > 0 {
		var err error
		if key, err = hkdf.Key(sha256.New, cfg.PageTokenKey, nil, userCacheInfo, credentials.UserCacheKeySize); err != nil {
			return fmt.Errorf("derive the shared user cache key: %v", err)
		}
	}
	if len(key) == 0 {
		logger.Warn("device-code sign-ins are not shared through redis: set DEFENDER_USER_CACHE_KEY (or DEFENDER_PAGE_TOKEN_KEY) to seal them there; each replica keeps its own")
		return nil
	}
	opts.SharedCache = sharedstate.NewBlobs(s.client, cfg.Redis.KeyPrefix+"signins:")
	opts.SharedCacheKey = key
	return nil
}
