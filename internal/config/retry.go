package config

// Retry is the upstream retry policy and the per-call timeouts.
type Retry struct{}

func defaultRetry() Retry { return Retry{} }

// retrySettings are the retry entries of the settings table.
var retrySettings = []setting{}

// validateRetry checks the retry settings.
func (c *Config) validateRetry() []error { return nil }
