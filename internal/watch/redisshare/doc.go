// Package redisshare is watch.Shared on Redis: one poller per key across
// the replicas, elected by a lease (SET NX PX, renewed and released only by
// its holder), its state (the watermark and the delivered versions) in a
// string, and its rounds in a Redis Stream that every replica reads with
// XREAD. A round and the state after it are written in one Lua script that
// first checks the lease, so a replica that lost its lease (paused past
// the TTL) cannot publish over its successor.
package redisshare
