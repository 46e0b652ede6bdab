package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/defender-gateway/gateway/internal/quota"
)

// Defaults of Options.
const (
	DefaultKeyPrefix      = "defender-gateway:"
	DefaultCommandTimeout = 250 * time.Millisecond
	// DefaultHeartbeat is how often a replica announces itself; entries
	// older than three heartbeats are not counted.
	DefaultHeartbeat = 2 * time.Second
	// DefaultProbeInterval is how often a lost Redis is pinged.
	DefaultProbeInterval = time.Second
)

// Options configure a Store.
type Options struct {
	// Client is the Redis connection (required): sharedstate.Open's, which
	// honours context deadlines (ContextTimeoutEnabled), so that
	// CommandTimeout bounds every command.
	Client *redis.Client
	// KeyPrefix starts every key the store writes; DefaultKeyPrefix when
	// empty.
	KeyPrefix string
	// Logger gets the loss and recovery lines; slog.Default() when nil.
	Logger *slog.Logger
	// Clock is the time of holds and heartbeats; time.Now when nil. The
	// GCRA itself runs on the Redis server's clock.
	Clock func() time.Time
	// CommandTimeout bounds each Redis command; DefaultCommandTimeout when
	// zero. A command that takes longer counts as Redis lost.
	CommandTimeout time.Duration
	// Fallback is the local store used while Redis is lost (the memory
	// store; required).
	Fallback quota.Store
	// ReplicaID names this replica in the heartbeat set; random when empty.
	ReplicaID string
	// Heartbeat and ProbeInterval override DefaultHeartbeat and
	// DefaultProbeInterval (tests).
	Heartbeat     time.Duration
	ProbeInterval time.Duration
}

// Store is a quota.Store in Redis with a local fallback. Close stops its
// background heartbeat and probe.
type Store struct {
	rdb      *redis.Client
	limiter  *redis_rate.Limiter
	prefix   string
	log      *slog.Logger
	now      func() time.Time
	timeout  time.Duration
	fallback quota.Store
	id       string
	beat     time.Duration
	probe    time.Duration

	lost     atomic.Bool
	epoch    atomic.Int64 // counts losses: the fallback's keys of one loss
	replicas atomic.Int64 // replicas last seen, at least 1
	mu       sync.Mutex   // orders loss/recovery transitions and their logs

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var _ quota.Store = (*Store)(nil)

// New returns a Store and starts its heartbeat. It does not wait for Redis:
// a Redis that does not answer makes the store start in its local share.
func New(o Options) (*Store, error) {
	if o.Client == nil {
		return nil, errors.New("redisstore: Options.Client is required")
	}
	if o.Fallback == nil {
		return nil, errors.New("redisstore: Options.Fallback is required")
	}
	s := &Store{
		rdb:      o.Client,
		limiter:  redis_rate.NewLimiter(rateKeys{o.Client}),
		prefix:   o.KeyPrefix,
		log:      o.Logger,
		now:      o.Clock,
		timeout:  o.CommandTimeout,
		fallback: o.Fallback,
		id:       o.ReplicaID,
		beat:     o.Heartbeat,
		probe:    o.ProbeInterval,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if s.prefix == "" {
		s.prefix = DefaultKeyPrefix
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = DefaultCommandTimeout
	}
	if s.beat <= 0 {
		s.beat = DefaultHeartbeat
	}
	if s.probe <= 0 {
		s.probe = DefaultProbeInterval
	}
	if s.id == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.id = hex.EncodeToString(b[:])
	}
	s.replicas.Store(1)
	s.heartbeat()
	go s.loop()
	return s, nil
}

// Close stops the background goroutine and removes this replica from the
// heartbeat set (best effort). It does not close the client.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		_ = s.rdb.ZRem(ctx, s.replicasKey(), s.id).Err()
	})
	return nil
}

// Shared reports whether the state is in Redis right now.
func (s *Store) Shared() bool { return !s.lost.Load() }

// Replicas is the number of replicas last seen (at least 1).
func (s *Store) Replicas() int { return int(s.replicas.Load()) }

func (s *Store) replicasKey() string     { return s.prefix + "replicas" }
func (s *Store) holdKey(k string) string { return s.prefix + "hold:" + k }

// Allow takes one unit of key under l.
func (s *Store) Allow(ctx context.Context, key string, l quota.Limit) (quota.Result, error) {
	return s.allowN(ctx, key, l, 1)
}

// Peek reports key's state without taking a unit.
func (s *Store) Peek(ctx context.Context, key string, l quota.Limit) (quota.Result, error) {
	return s.allowN(ctx, key, l, 0)
}

func (s *Store) allowN(ctx context.Context, key string, l quota.Limit, n int) (quota.Result, error) {
	if !s.lost.Load() {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		r, err := s.limiter.AllowN(cctx, s.prefix+ratePrefix+key, redis_rate.Limit{Rate: l.Rate, Burst: l.Burst, Period: l.Per}, n)
		cancel()
		if err == nil {
			return quota.Result{Allowed: r.Allowed, Remaining: r.Remaining, RetryAfter: r.RetryAfter, ResetAfter: r.ResetAfter}, nil
		}
		if ctx.Err() != nil {
			return quota.Result{}, ctx.Err()
		}
		s.markLost(err)
	}
	fk, fl := s.localKey(key), s.localLimit(l)
	var r quota.Result
	var err error
	if n == 0 {
		r, err = s.fallback.Peek(ctx, fk, fl)
	} else {
		r, err = s.fallback.Allow(ctx, fk, fl)
	}
	// The answer is under the local share, not l: the scheduler's
	// estimates must use the share's burst and rate.
	r.Applied = fl
	return r, err
}

// localKey keeps each loss's limiters apart, so a loss starts fresh.
func (s *Store) localKey(key string) string {
	return "redis-lost-" + strconv.FormatInt(s.epoch.Load(), 10) + ":" + key
}

// localLimit is this replica's share of l.
func (s *Store) localLimit(l quota.Limit) quota.Limit {
	return ScaleLimit(l, s.Replicas())
}

// ScaleLimit divides l's Rate and Burst by n replicas, at least 1 each.
func ScaleLimit(l quota.Limit, n int) quota.Limit {
	if n < 1 {
		n = 1
	}
	return quota.Limit{Rate: max(1, l.Rate/n), Burst: max(1, l.Burst/n), Per: l.Per}
}

// holdScript sets KEYS[1] to ARGV[1] (unix ms) with PX ARGV[2] only when
// ARGV[1] is later than the stored end: a hold never shortens.
var holdScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local v = tonumber(ARGV[1])
if v > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`)

// Hold makes Held(key) at least until, in Redis and locally.
func (s *Store) Hold(ctx context.Context, key string, until time.Time) error {
	if err := s.fallback.Hold(ctx, key, until); err != nil {
		return err
	}
	if s.lost.Load() {
		return nil
	}
	ttl := until.Sub(s.now())
	if ttl <= 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := holdScript.Run(cctx, s.rdb, []string{s.holdKey(key)}, until.UnixMilli(), max(1, ttl.Milliseconds())).Err()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.markLost(err)
	}
	return nil
}

// Held returns the later of key's hold in Redis and locally; zero when
// none.
func (s *Store) Held(ctx context.Context, key string) (time.Time, error) {
	local, err := s.fallback.Held(ctx, key)
	if err != nil {
		return time.Time{}, err
	}
	if s.lost.Load() {
		return local, nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	v, err := s.rdb.Get(cctx, s.holdKey(key)).Int64()
	switch {
	case errors.Is(err, redis.Nil):
		return local, nil
	case err != nil:
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		s.markLost(err)
		return local, nil
	}
	remote := time.UnixMilli(v)
	if !remote.After(s.now()) {
		return local, nil
	}
	if remote.After(local) {
		return remote, nil
	}
	return local, nil
}

func (s *Store) markLost(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost.Load() {
		return
	}
	s.epoch.Add(1)
	s.lost.Store(true)
	n := s.Replicas()
	s.log.Warn(fmt.Sprintf("redis lost: quota falls back to a local share of 1/%d", n),
		"replicas", n, "error", errorClass(err))
}

func (s *Store) markFound() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lost.Load() {
		return
	}
	s.lost.Store(false)
	s.log.Info("redis recovered: quota is shared through redis again")
}

// errorClass names an error without its text (which may carry an address
// or a server message).
func errorClass(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, redis.ErrClosed):
		return "client closed"
	default:
		return "unavailable"
	}
}

func (s *Store) loop() {
	defer close(s.done)
	beat := time.NewTicker(s.beat)
	defer beat.Stop()
	probe := time.NewTicker(s.probe)
	defer probe.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-probe.C:
			if s.lost.Load() {
				ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
				err := s.rdb.Ping(ctx).Err()
				cancel()
				if err == nil {
					s.heartbeat()
					s.markFound()
				}
			}
		case <-beat.C:
			if !s.lost.Load() {
				s.heartbeat()
			}
		}
	}
}

// heartbeat announces this replica and counts the replicas seen within
// three heartbeats.
func (s *Store) heartbeat() {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	now := s.now().UnixMilli()
	oldest := now - 3*s.beat.Milliseconds()
	key := s.replicasKey()
	var count *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, key, redis.Z{Score: float64(now), Member: s.id})
		p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(oldest, 10))
		p.PExpire(ctx, key, 10*s.beat)
		count = p.ZCard(ctx, key)
		return nil
	})
	if err != nil {
		s.markLost(err)
		return
	}
	s.replicas.Store(max(1, count.Val()))
}
