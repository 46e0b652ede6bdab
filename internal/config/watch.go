package config

import (
	"fmt"
	"log/slog"
	"time"
)

// Watch is WatchIncidents: its shared pollers, its streams and, with
// Redis, the election of one poller per tenant across replicas
// (internal/watch).
type Watch struct {
	// PollInterval is the time between two polling rounds of a poller.
	PollInterval time.Duration
	// Overlap is how far before its watermark each round re-reads.
	Overlap time.Duration
	// VisibilityDelay is how far the watermark trails the clock, for
	// changes the upstream lists late.
	VisibilityDelay time.Duration
	// ExpandRetry is how long a poller lists without alerts after listing
	// with them failed upstream.
	ExpandRetry time.Duration
	// Heartbeat is the longest an idle watch goes without a message.
	Heartbeat time.Duration
	// MaxDuration ends a watch (OK); the client resumes with its cursor.
	MaxDuration time.Duration
	// MaxWatchers is the most watches one replica serves at once.
	MaxWatchers int
	// Buffer is how many changes a watch may fall behind before it ends.
	Buffer int
	// LeaseTTL is how long a replica's poller lease lasts without renewal
	// (with Redis): the longest a tenant goes unpolled after its poller
	// dies, plus a second.
	LeaseTTL time.Duration
}

// Defaults of the watch settings.
const (
	DefaultWatchPollInterval    = 30 * time.Second
	DefaultWatchOverlap         = time.Minute
	DefaultWatchVisibilityDelay = 2 * time.Minute
	DefaultWatchExpandRetry     = 10 * time.Minute
	DefaultWatchHeartbeat       = 15 * time.Second
	DefaultWatchMaxDuration     = 30 * time.Minute
	DefaultWatchMaxWatchers     = 1000
	DefaultWatchBuffer          = 10000
	DefaultWatchLeaseTTL        = 10 * time.Second
)

func defaultWatch() Watch {
	return Watch{
		PollInterval: DefaultWatchPollInterval, Overlap: DefaultWatchOverlap, VisibilityDelay: DefaultWatchVisibilityDelay,
		ExpandRetry: DefaultWatchExpandRetry, Heartbeat: DefaultWatchHeartbeat, MaxDuration: DefaultWatchMaxDuration,
		MaxWatchers: DefaultWatchMaxWatchers, Buffer: DefaultWatchBuffer, LeaseTTL: DefaultWatchLeaseTTL,
	}
}

// watchSettings are the watch entries of the settings table.
var watchSettings = []setting{
	{env: "DEFENDER_WATCH_POLL_INTERVAL", flag: "watch-poll-interval", def: "30s", usage: "Time between two polling rounds of a tenant's shared watch poller (Go duration).",
		set: func(c *Config, v string) error { return setDuration(&c.Watch.PollInterval, v) }},
	{env: "DEFENDER_WATCH_OVERLAP", flag: "watch-overlap", def: "1m0s", usage: "How far before its watermark each polling round re-reads (clock skew, timestamp precision).",
		set: func(c *Config, v string) error { return setDuration(&c.Watch.Overlap, v) }},
	{env: "DEFENDER_WATCH_VISIBILITY_DELAY", flag: "watch-visibility-delay", def: "2m0s", usage: "How far the watch watermark trails the clock, for changes the upstream lists late.",
		set: func(c *Config, v string) error { return setDuration(&c.Watch.VisibilityDelay, v) }},
	{env: "DEFENDER_WATCH_EXPAND_RETRY", flag: "watch-expand-retry", def: "10m0s", usage: "After listing with alerts failed upstream, how long a poller reads alerts per incident before it tries again.",
		set: func(c *Config, v string) error { return setDuration(&c.Watch.ExpandRetry, v) }},
	{env: "DEFENDER_WATCH_HEARTBEAT_INTERVAL", flag: "watch-heartbeat-interval", def: "15s", usage: "Longest an idle watch goes without a message (a heartbeat with a cursor).",
		set: func(c *Config, v string) error { return setDuration(&c.Watch.Heartbeat, v) }},
	{env: "DEFENDER_WATCH_MAX_DURATION", flag: "watch-max-duration", def: "30m0s", usage: "A watch ends (OK) after this long; the client resumes with its last cursor.",
		set: func(c *Config, v string) error { return setDuration(&c.Watch.MaxDuration, v) }},
	{env: "DEFENDER_WATCH_MAX_WATCHERS", flag: "watch-max-watchers", def: "1000", usage: "Most watches one replica serves at once; more get RESOURCE_EXHAUSTED TOO_MANY_WATCHERS.",
		set: func(c *Config, v string) error { return setInt(&c.Watch.MaxWatchers, v) }},
	{env: "DEFENDER_WATCH_BUFFER", flag: "watch-buffer", def: "10000", usage: "How many changes a watch may fall behind before it ends with RESOURCE_EXHAUSTED WATCH_LAGGING.",
		set: func(c *Config, v string) error { return setInt(&c.Watch.Buffer, v) }},
	{env: "DEFENDER_WATCH_LEASE_TTL", flag: "watch-lease-ttl", def: "10s", usage: "With Redis, how long a replica's poller lease lasts without renewal: bounds the failover.",
		set: func(c *Config, v string) error { return setDuration(&c.Watch.LeaseTTL, v) }},
}

// validateWatch checks the watch settings.
func (c *Config) validateWatch() []error {
	var errs []error
	w := &c.Watch
	for _, d := range []struct {
		env      string
		v        time.Duration
		min, max time.Duration
	}{
		{"DEFENDER_WATCH_POLL_INTERVAL", w.PollInterval, 100 * time.Millisecond, time.Hour},
		{"DEFENDER_WATCH_OVERLAP", w.Overlap, 0, time.Hour},
		{"DEFENDER_WATCH_VISIBILITY_DELAY", w.VisibilityDelay, 0, time.Hour},
		{"DEFENDER_WATCH_EXPAND_RETRY", w.ExpandRetry, time.Second, 24 * time.Hour},
		{"DEFENDER_WATCH_HEARTBEAT_INTERVAL", w.Heartbeat, 100 * time.Millisecond, 10 * time.Minute},
		{"DEFENDER_WATCH_MAX_DURATION", w.MaxDuration, time.Second, 24 * time.Hour},
		// The holder renews every second: 3s leaves two renewals' margin.
		{"DEFENDER_WATCH_LEASE_TTL", w.LeaseTTL, 3 * time.Second, 5 * time.Minute},
	} {
		if d.v < d.min || d.v > d.max {
			errs = append(errs, fmt.Errorf("%s: %s is out of range; use %s to %s", d.env, d.v, d.min, d.max))
		}
	}
	if w.MaxWatchers < 1 || w.MaxWatchers > 100_000 {
		errs = append(errs, fmt.Errorf("DEFENDER_WATCH_MAX_WATCHERS: %d is out of range; use 1 to 100000", w.MaxWatchers))
	}
	if w.Buffer < 100 || w.Buffer > 1_000_000 {
		errs = append(errs, fmt.Errorf("DEFENDER_WATCH_BUFFER: %d is out of range; use 100 to 1000000", w.Buffer))
	}
	return errs
}

func (w Watch) logAttrs() []slog.Attr {
	return []slog.Attr{
		slog.String("watch_poll_interval", w.PollInterval.String()),
		slog.String("watch_overlap", w.Overlap.String()),
		slog.String("watch_visibility_delay", w.VisibilityDelay.String()),
		slog.String("watch_expand_retry", w.ExpandRetry.String()),
		slog.String("watch_heartbeat_interval", w.Heartbeat.String()),
		slog.String("watch_max_duration", w.MaxDuration.String()),
		slog.Int("watch_max_watchers", w.MaxWatchers),
		slog.Int("watch_buffer", w.Buffer),
		slog.String("watch_lease_ttl", w.LeaseTTL.String()),
	}
}
