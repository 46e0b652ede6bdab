package config

// Quota is the client-side budgets per tenant and API family and their fair, deadline-aware scheduler (internal/quota).
type Quota struct{}

func defaultQuota() Quota { return Quota{} }

// quotaSettings are the quota entries of the settings table.
var quotaSettings = []setting{}

// validateQuota checks the quota settings.
func (c *Config) validateQuota() []error { return nil }
