package config

import (
	"fmt"
	"time"
)

// Governor is coalescing of identical concurrent reads and the optional read cache (internal/governor).
type Governor struct {
	// CoalesceReads makes identical concurrent reads share one upstream call.
	CoalesceReads bool
	// CacheTTLIncidentRead, CacheTTLIncidentGet and CacheTTLHunting are how
	// long a successful ListIncidents, GetIncident or hunting result is
	// served from the cache; 0 disables the cache for that family.
	CacheTTLIncidentRead time.Duration
	CacheTTLIncidentGet  time.Duration
	CacheTTLHunting      time.Duration
	// CacheMaxEntries bounds the cache (least recently used evicted first).
	CacheMaxEntries int
}

// Defaults of the governor settings.
const (
	DefaultCoalesceReads   = true
	DefaultCacheMaxEntries = 10000
	// maxCacheTTL bounds the cache TTLs: longer is staleness nobody wants.
	maxCacheTTL = 24 * time.Hour
	// maxCacheEntries bounds DEFENDER_CACHE_MAX_ENTRIES.
	maxCacheEntries = 1_000_000
)

func defaultGovernor() Governor {
	return Governor{CoalesceReads: DefaultCoalesceReads, CacheMaxEntries: DefaultCacheMaxEntries}
}

// governorSettings are the governor entries of the settings table.
var governorSettings = []setting{
	{env: "DEFENDER_COALESCE_READS", flag: "coalesce-reads", def: "true", isBool: true, usage: "Identical concurrent reads (same tenant, context, identity and request) share one upstream call.",
		set: func(c *Config, v string) error { return setBool(&c.Governor.CoalesceReads, v) }},
	{env: "DEFENDER_CACHE_TTL_INCIDENT_READ", flag: "cache-ttl-incident-read", def: "0s", usage: "How long a ListIncidents page is served from the read cache (Go duration); 0 disables.",
		set: func(c *Config, v string) error { return setDuration(&c.Governor.CacheTTLIncidentRead, v) }},
	{env: "DEFENDER_CACHE_TTL_INCIDENT_GET", flag: "cache-ttl-incident-get", def: "0s", usage: "How long a GetIncident result is served from the read cache (Go duration); 0 disables.",
		set: func(c *Config, v string) error { return setDuration(&c.Governor.CacheTTLIncidentGet, v) }},
	{env: "DEFENDER_CACHE_TTL_HUNTING", flag: "cache-ttl-hunting", def: "0s", usage: "How long a hunting query result is served from the read cache (Go duration); 0 disables.",
		set: func(c *Config, v string) error { return setDuration(&c.Governor.CacheTTLHunting, v) }},
	{env: "DEFENDER_CACHE_MAX_ENTRIES", flag: "cache-max-entries", def: "10000", usage: "Most entries the read cache holds; the least recently used is evicted first.",
		set: func(c *Config, v string) error { return setInt(&c.Governor.CacheMaxEntries, v) }},
}

// validateGovernor checks the governor settings.
func (c *Config) validateGovernor() []error {
	var errs []error
	g := &c.Governor
	for _, d := range []struct {
		env string
		v   time.Duration
	}{
		{"DEFENDER_CACHE_TTL_INCIDENT_READ", g.CacheTTLIncidentRead},
		{"DEFENDER_CACHE_TTL_INCIDENT_GET", g.CacheTTLIncidentGet},
		{"DEFENDER_CACHE_TTL_HUNTING", g.CacheTTLHunting},
	} {
		if d.v < 0 || d.v > maxCacheTTL {
			errs = append(errs, fmt.Errorf("%s: %s is out of range; use 0s (off) to %s", d.env, d.v, maxCacheTTL))
		}
	}
	if g.CacheMaxEntries < 1 || g.CacheMaxEntries > maxCacheEntries {
		errs = append(errs, fmt.Errorf("DEFENDER_CACHE_MAX_ENTRIES: %d is out of range; use 1 to %d", g.CacheMaxEntries, maxCacheEntries))
	}
	return errs
}
