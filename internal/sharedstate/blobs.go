package sharedstate

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Blobs are versioned values in Redis, each a hash {v: version, d: data}
// under prefix+name, with the names listed in the set prefix+"index".
// Writes are compare-and-swap on the version (a Lua script), so concurrent
// replicas never overwrite each other unseen. The data are opaque: callers
// encrypt what is secret.
type Blobs struct {
	client *redis.Client
	prefix string
}

// NewBlobs returns the blobs under prefix (e.g. "defender-gateway:signins:").
func NewBlobs(client *redis.Client, prefix string) *Blobs {
	return &Blobs{client: client, prefix: prefix}
}

// Load returns name's data and version; version 0 and no data when absent.
func (b *Blobs) Load(ctx context.Context, name string) ([]byte, int64, error) {
	vals, err := b.client.HMGet(ctx, b.prefix+name, "v", "d").Result()
	if err != nil {
		return nil, 0, fmt.Errorf("sharedstate: load %s: %w", name, redisError(err))
	}
	if vals[0] == nil {
		return nil, 0, nil
	}
	vs, _ := vals[0].(string)
	ds, _ := vals[1].(string)
	var v int64
	if _, err := fmt.Sscan(vs, &v); err != nil {
		return nil, 0, fmt.Errorf("sharedstate: %s has a bad version", name)
	}
	return []byte(ds), v, nil
}

// casScript stores ARGV[2] as KEYS[1]'s data with version ARGV[1]+1 when
// its version is still ARGV[1] (0: absent), and indexes the name.
var casScript = redis.NewScript(`
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', v + 1, 'd', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return v + 1`)

// ErrConflict says another writer stored a newer version first.
var ErrConflict = errors.New("sharedstate: the value changed since it was read")

// CompareAndSwap stores data as name when its version is still version,
// and returns the new version; ErrConflict when another writer came first.
func (b *Blobs) CompareAndSwap(ctx context.Context, name string, version int64, data []byte) (int64, error) {
	n, err := casScript.Run(ctx, b.client, []string{b.prefix + name, b.prefix + "index"}, version, data, name).Int64()
	if err != nil {
		return 0, fmt.Errorf("sharedstate: store %s: %w", name, redisError(err))
	}
	if n == 0 {
		return 0, ErrConflict
	}
	return n, nil
}

// Names lists the names stored.
func (b *Blobs) Names(ctx context.Context) ([]string, error) {
	names, err := b.client.SMembers(ctx, b.prefix+"index").Result()
	if err != nil {
		return nil, fmt.Errorf("sharedstate: list: %w", redisError(err))
	}
	return names, nil
}
