package redisstore

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// rateKeys lets redis_rate's limiter keep its keys under our prefix:
// redis_rate prepends "rate:" to every key, so the store passes
// prefix+"rate:"+key and rateKeys drops the leading "rate:" again,
// leaving prefix first (ACL key patterns and SCAN by prefix work).
type rateKeys struct {
	*redis.Client
}

const ratePrefix = "rate:"

func strip(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.TrimPrefix(k, ratePrefix)
	}
	return out
}

func (r rateKeys) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return r.Client.Eval(ctx, script, strip(keys), args...)
}

func (r rateKeys) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return r.Client.EvalSha(ctx, sha1, strip(keys), args...)
}

func (r rateKeys) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return r.Client.EvalRO(ctx, script, strip(keys), args...)
}

func (r rateKeys) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return r.Client.EvalShaRO(ctx, sha1, strip(keys), args...)
}

func (r rateKeys) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return r.Client.Del(ctx, strip(keys)...)
}
