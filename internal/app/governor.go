package app

import (
	"log/slog"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/governor"
	"github.com/defender-gateway/gateway/internal/quota"
	"github.com/defender-gateway/gateway/internal/telemetry"
)

// newGovernor wraps the auth contexts' targets: every upstream request is
// admitted by sched (nil: none is scheduled), identical concurrent reads
// share one call, and the optional read cache serves repeats; metrics
// count the cache lookups and coalesced reads.
func newGovernor(cfg config.Governor, contexts *authctx.Registry, sched quota.Scheduler, metrics *telemetry.Metrics, logger *slog.Logger) (*governor.Governor, error) {
	return governor.New(governor.Options{
		Resolver:  contexts,
		Scheduler: sched,
		Coalesce:  cfg.CoalesceReads,
		Cache: governor.CacheOptions{
			TTLIncidentRead: cfg.CacheTTLIncidentRead,
			TTLIncidentGet:  cfg.CacheTTLIncidentGet,
			TTLHunting:      cfg.CacheTTLHunting,
			MaxEntries:      cfg.CacheMaxEntries,
		},
		Metrics: metrics,
		Logger:  logger.With("component", "governor"),
	})
}
