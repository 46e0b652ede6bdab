package app

import (
	"log/slog"

	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/quota"
	"github.com/defender-gateway/gateway/internal/quota/redisstore"
)

// scheduling is the quota scheduler of a gateway and its store; both nil
// with DEFENDER_QUOTA_ENABLED=false.
type scheduling struct {
	sched *quota.FairScheduler
	store *redisstore.Store // nil without Redis
}

// newScheduling builds the scheduler over the memory store, or over Redis
// (with the memory store as its local fallback) when Redis is configured.
func newScheduling(cfg *config.Config, shared *sharedState, logger *slog.Logger) (*scheduling, error) {
	if !cfg.Quota.Enabled {
		logger.Warn("quota scheduling is off (DEFENDER_QUOTA_ENABLED=false): every call goes upstream at once and the upstream's 429s reach the callers")
		return &scheduling{}, nil
	}
	s := &scheduling{}
	var store quota.Store = quota.NewMemoryStore(nil)
	if client := shared.Client(); client != nil {
		rs, err := redisstore.New(redisstore.Options{
			Client:         client,
			KeyPrefix:      cfg.Redis.KeyPrefix,
			CommandTimeout: cfg.Redis.CommandTimeout,
			Logger:         logger.With("component", "quota"),
			Fallback:       store,
		})
		if err != nil {
			return nil, err
		}
		s.store, store = rs, rs
	}
	s.sched = quota.NewScheduler(quota.Options{
		Store:            store,
		Budgets:          cfg.Quota.Budgets,
		InteractiveShare: cfg.Quota.InteractiveShare,
		MaxWait:          cfg.Quota.MaxWait,
		MaxQueued:        cfg.Quota.MaxQueued,
		DefaultHold:      cfg.Quota.DefaultHold,
		Logger:           logger.With("component", "quota"),
	})
	return s, nil
}

// scheduler is the scheduler as the governor takes it: an untyped nil when
// quota is off (a typed nil would count as set).
func (s *scheduling) scheduler() quota.Scheduler {
	if s == nil || s.sched == nil {
		return nil
	}
	return s.sched
}

// drain fails the calls queued for quota with SHUTTING_DOWN, and every
// later one; calls already admitted go on. It is the server's first
// shutdown step.
func (s *scheduling) drain() {
	if s != nil && s.sched != nil {
		s.sched.Close()
	}
}

// close stops the Redis store's heartbeat and probe (after drain).
func (s *scheduling) close() {
	s.drain()
	if s != nil && s.store != nil {
		_ = s.store.Close()
	}
}
