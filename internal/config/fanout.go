package config

import (
	"fmt"
	"log/slog"
)

// Fanout is the views across tenants (`tenants/-`): ListIncidents on the
// wildcard parent reads every tenant the caller may use.
type Fanout struct {
	// Concurrency is the most tenants one call reads at once.
	Concurrency int
}

// DefaultFanoutConcurrency is the default of Fanout.Concurrency.
const DefaultFanoutConcurrency = 8

// maxFanoutConcurrency bounds Fanout.Concurrency.
const maxFanoutConcurrency = 64

func defaultFanout() Fanout { return Fanout{Concurrency: DefaultFanoutConcurrency} }

// fanoutSettings are the fan-out entries of the settings table.
var fanoutSettings = []setting{
	{env: "DEFENDER_FANOUT_CONCURRENCY", flag: "fanout-concurrency", def: "8", usage: "Most tenants one call on tenants/- (every tenant the caller may use) reads at once.",
		set: func(c *Config, v string) error { return setInt(&c.Fanout.Concurrency, v) }},
}

// validateFanout checks the fan-out settings.
func (c *Config) validateFanout() []error {
	if n := c.Fanout.Concurrency; n < 1 || n > maxFanoutConcurrency {
		return []error{fmt.Errorf("DEFENDER_FANOUT_CONCURRENCY: %d is out of range; use 1 to %d", n, maxFanoutConcurrency)}
	}
	return nil
}

func (f Fanout) logAttrs() []slog.Attr {
	return []slog.Attr{slog.Int("fanout_concurrency", f.Concurrency)}
}
