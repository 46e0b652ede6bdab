// Package redisstore is the quota.Store of several replicas: GCRA limiters
// (github.com/go-redis/redis_rate) and 429 holds kept in Redis, so every
// replica of the gateway spends one budget per tenant and family.
//
// When Redis fails or times out the store falls back to a local store (the
// memory store) with every limit scaled to this replica's share: Rate and
// Burst divided by the number of replicas last seen through the heartbeat
// key, at least 1 each. Each loss starts a fresh set of local limiters (no
// state carries over from an earlier loss), and a background probe pings
// Redis every second to switch back once it answers. Holds are also kept
// locally at all times, so a hold this replica set is never forgotten
// across a loss or a recovery.
package redisstore
