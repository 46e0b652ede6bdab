package app

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"

	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/telemetry"
	"github.com/defender-gateway/gateway/internal/watch"
	"github.com/defender-gateway/gateway/internal/watch/redisshare"
)

// newWatchHub builds WatchIncidents' hub: its pollers share one per
// tenant across the replicas through Redis when Redis is configured.
func newWatchHub(cfg *config.Config, shared *sharedState, metrics *telemetry.Metrics, logger *slog.Logger) (*watch.Hub, error) {
	w := cfg.Watch
	opts := watch.Options{
		Timing: watch.Timing{
			Interval: w.PollInterval, Overlap: w.Overlap, Delay: w.VisibilityDelay, ExpandRetry: w.ExpandRetry,
		},
		MaxWatchers:  w.MaxWatchers,
		Buffer:       w.Buffer,
		RoundTimeout: cfg.Retry.CallTimeout,
		Log:          logger.With("component", "watch"),
		Metrics:      metrics,
	}
	if client := shared.Client(); client != nil {
		holder, err := holderName()
		if err != nil {
			return nil, err
		}
		store, err := redisshare.New(redisshare.Options{
			Client: client, KeyPrefix: cfg.Redis.KeyPrefix, Holder: holder, LeaseTTL: w.LeaseTTL,
		})
		if err != nil {
			return nil, err
		}
		opts.Shared = store
	}
	return watch.NewHub(opts), nil
}

// holderName names this process in the poller leases: the host name and a
// random suffix (two processes on one host never share a name).
func holderName() (string, error) {
	host, _ := os.Hostname()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("watch: drawing a lease holder name: %w", err)
	}
	return host + "/" + hex.EncodeToString(b[:]), nil
}
