package governor

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/quota"
)

// Resolver resolves the {tenant} segment of a resource name to the target
// that serves it; service.Resolver and *authctx.Registry have this method.
type Resolver interface {
	Resolve(ctx context.Context, tenant string) (authctx.Target, error)
}

// CacheOptions configure the read cache. A zero TTL leaves its family
// uncached; all zero disables the cache.
type CacheOptions struct {
	// TTLIncidentRead is the life of a ListIncidents page, TTLIncidentGet of
	// a GetIncident result and TTLHunting of a hunting result.
	TTLIncidentRead time.Duration
	TTLIncidentGet  time.Duration
	TTLHunting      time.Duration
	// MaxEntries bounds the cache (least recently used evicted first);
	// 0 is DefaultMaxEntries.
	MaxEntries int
}

// DefaultMaxEntries is the cache bound when CacheOptions.MaxEntries is 0.
const DefaultMaxEntries = 10000

func (c CacheOptions) ttl(f defender.Family) time.Duration {
	switch f {
	case defender.FamilyIncidentRead:
		return c.TTLIncidentRead
	case defender.FamilyIncidentGet:
		return c.TTLIncidentGet
	case defender.FamilyHunting:
		return c.TTLHunting
	}
	return 0
}

func (c CacheOptions) enabled() bool {
	return c.TTLIncidentRead > 0 || c.TTLIncidentGet > 0 || c.TTLHunting > 0
}

// Options configure a Governor.
type Options struct {
	// Resolver is the resolver whose targets are governed. Required.
	Resolver Resolver
	// Scheduler admits upstream requests; nil (an untyped nil interface)
	// sends them at once.
	Scheduler quota.Scheduler
	// Coalesce makes identical concurrent reads share one upstream call.
	Coalesce bool
	Cache    CacheOptions
	// Clock is the cache's clock; nil is time.Now.
	Clock  func() time.Time
	Logger *slog.Logger
	// Metrics counts cache lookups and coalesced reads; nil counts none.
	// *telemetry.Metrics is one.
	Metrics Metrics
}

// Metrics is what the governor reports: each read cache lookup, and each
// read that joined an identical one in flight instead of calling upstream.
type Metrics interface {
	CacheLookup(family string, hit bool)
	ReadCoalesced(family string)
}

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) CacheLookup(string, bool) {}
func (noMetrics) ReadCoalesced(string)     {}

// Governor is a Resolver whose targets' backends are gated, coalesced and
// cached as its Options say. It is safe for concurrent use.
type Governor struct {
	resolver  Resolver
	scheduler quota.Scheduler
	coalesce  bool
	cacheOpts CacheOptions
	cache     *cache // nil when disabled
	flights   *group
	logger    *slog.Logger
	metrics   Metrics
	// withGate puts a gate in a context: defender.WithGate (tests observe
	// the gates through it).
	withGate func(context.Context, defender.Gate) context.Context
}

// New returns a Governor over opts.Resolver.
func New(opts Options) (*Governor, error) {
	if opts.Resolver == nil {
		return nil, errors.New("governor: a resolver is required")
	}
	if opts.Cache.TTLIncidentRead < 0 || opts.Cache.TTLIncidentGet < 0 || opts.Cache.TTLHunting < 0 || opts.Cache.MaxEntries < 0 {
		return nil, errors.New("governor: cache TTLs and MaxEntries must not be negative")
	}
	g := &Governor{
		resolver:  opts.Resolver,
		scheduler: opts.Scheduler,
		coalesce:  opts.Coalesce,
		cacheOpts: opts.Cache,
		flights:   newGroup(),
		logger:    opts.Logger,
		metrics:   opts.Metrics,
		withGate:  defender.WithGate,
	}
	if g.metrics == nil {
		g.metrics = noMetrics{}
	}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	if opts.Cache.enabled() {
		clock := opts.Clock
		if clock == nil {
			clock = time.Now
		}
		max := opts.Cache.MaxEntries
		if max == 0 {
			max = DefaultMaxEntries
		}
		c, err := newCache(max, clock)
		if err != nil {
			return nil, err
		}
		g.cache = c
	}
	return g, nil
}

// Resolve resolves tenant with the inner resolver and wraps the target's
// backend.
func (g *Governor) Resolve(ctx context.Context, tenant string) (authctx.Target, error) {
	t, err := g.resolver.Resolve(ctx, tenant)
	if err != nil || t.Backend == nil {
		return t, err
	}
	t.Backend = &backend{g: g, inner: t.Backend, tenant: t.Tenant, kind: t.Backend.Kind(), prefix: keyPrefix(ctx, t)}
	return t, nil
}
