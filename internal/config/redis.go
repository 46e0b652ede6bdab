package config

// Redis is the optional shared state of several replicas: quota, page-token key and sign-ins (internal/sharedstate, internal/quota/redisstore).
type Redis struct{}

func defaultRedis() Redis { return Redis{} }

// redisSettings are the redis entries of the settings table.
var redisSettings = []setting{}

// validateRedis checks the redis settings.
func (c *Config) validateRedis() []error { return nil }
