package config

// Governor is coalescing of identical concurrent reads and the optional read cache (internal/governor).
type Governor struct{}

func defaultGovernor() Governor { return Governor{} }

// governorSettings are the governor entries of the settings table.
var governorSettings = []setting{}

// validateGovernor checks the governor settings.
func (c *Config) validateGovernor() []error { return nil }
