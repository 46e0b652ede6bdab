// Package testredis starts a real redis-server (Debian's binary) for tests:
// on a free loopback port, with no persistence, stopped on t.Cleanup. When
// the binary is absent the test is skipped, except in CI (CI set), where it
// fails.
package testredis
