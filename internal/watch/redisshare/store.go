package redisshare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/defender-gateway/gateway/internal/watch"
)

// Options configure a Store.
type Options struct {
	Client *redis.Client
	// KeyPrefix starts every key (DEFENDER_REDIS_KEY_PREFIX); "watch:" and
	// the key's ID follow.
	KeyPrefix string
	// Holder names this replica in the lease (unique per process).
	Holder string
	// LeaseTTL is how long a lease lasts without renewal.
	LeaseTTL time.Duration
	// Retention is how long a key's state and rounds outlive their last
	// round (at least the cursors' life, so a resumed watch finds them).
	Retention time.Duration
	// MaxRounds bounds each key's stream (approximately, XADD MAXLEN ~).
	MaxRounds int64
}

// Store is watch.Shared on Redis.
type Store struct{ o Options }

var _ watch.Shared = (*Store)(nil)

// New returns a Store.
func New(o Options) (*Store, error) {
	switch {
	case o.Client == nil:
		return nil, errors.New("redisshare: no Redis client")
	case o.Holder == "":
		return nil, errors.New("redisshare: no holder name")
	case o.LeaseTTL < time.Second:
		return nil, errors.New("redisshare: the lease TTL must be at least 1s")
	}
	if o.Retention <= 0 {
		o.Retention = 24 * time.Hour
	}
	if o.MaxRounds <= 0 {
		o.MaxRounds = 10_000
	}
	return &Store{o: o}, nil
}

func (s *Store) lease(key string) string  { return s.o.KeyPrefix + "watch:" + key + ":lease" }
func (s *Store) state(key string) string  { return s.o.KeyPrefix + "watch:" + key + ":state" }
func (s *Store) rounds(key string) string { return s.o.KeyPrefix + "watch:" + key + ":rounds" }

// leadScript takes the lease when free and renews it when held by ARGV[1].
var leadScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)

// releaseScript deletes the lease only when held by ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// publishScript, only while ARGV[1] holds the lease KEYS[1], appends the
// round ARGV[2] to the stream KEYS[3] (trimmed to about ARGV[4] entries)
// and stores the state ARGV[3] in KEYS[2], both kept for ARGV[5] ms.
var publishScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return false
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'r', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return id`)

// Lead takes or renews key's lease.
func (s *Store) Lead(ctx context.Context, key string) (bool, error) {
	n, err := leadScript.Run(ctx, s.o.Client, []string{s.lease(key)}, s.o.Holder, s.o.LeaseTTL.Milliseconds()).Int()
	return n == 1, err
}

// Release gives key's lease up if this replica holds it.
func (s *Store) Release(ctx context.Context, key string) error {
	return releaseScript.Run(ctx, s.o.Client, []string{s.lease(key)}, s.o.Holder).Err()
}

// InitState stores st unless key has a state.
func (s *Store) InitState(ctx context.Context, key string, st watch.State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.o.Client.SetNX(ctx, s.state(key), b, s.o.Retention).Err()
}

// LoadState returns key's state.
func (s *Store) LoadState(ctx context.Context, key string) (watch.State, bool, error) {
	var st watch.State
	b, err := s.o.Client.Get(ctx, s.state(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("redisshare: a stored watch state does not decode: %w", err)
	}
	return st, true, nil
}

// Publish appends r and stores st while this replica holds the lease.
func (s *Store) Publish(ctx context.Context, key string, r watch.Round, st watch.State) (bool, error) {
	round, err := json.Marshal(r)
	if err != nil {
		return false, err
	}
	state, err := json.Marshal(st)
	if err != nil {
		return false, err
	}
	_, err = publishScript.Run(ctx, s.o.Client, []string{s.lease(key), s.state(key), s.rounds(key)},
		s.o.Holder, round, state, s.o.MaxRounds, s.o.Retention.Milliseconds()).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}

// Tail returns the id of key's newest round, "0" when there is none.
func (s *Store) Tail(ctx context.Context, key string) (string, error) {
	msgs, err := s.o.Client.XRevRangeN(ctx, s.rounds(key), "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0", nil
	}
	return msgs[0].ID, nil
}

// Read returns key's rounds after the id after, waiting up to block.
func (s *Store) Read(ctx context.Context, key, after string, block time.Duration) ([]watch.Published, error) {
	res, err := s.o.Client.XRead(ctx, &redis.XReadArgs{Streams: []string{s.rounds(key), after}, Block: block, Count: 100}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []watch.Published
	for _, stream := range res {
		for _, m := range stream.Messages {
			raw, _ := m.Values["r"].(string)
			// A round that does not decode (never written by this version)
			// is passed over as an empty one, so the readers move past it.
			var r watch.Round
			_ = json.NewDecoder(strings.NewReader(raw)).Decode(&r)
			out = append(out, watch.Published{ID: m.ID, Round: r})
		}
	}
	return out, nil
}
