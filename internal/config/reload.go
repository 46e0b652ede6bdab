package config

import (
	"errors"
	"fmt"
	"time"
)

// Bounds of DEFENDER_RELOAD_WATCH_INTERVAL when it is not 0 (off).
const (
	minReloadWatchInterval = 100 * time.Millisecond
	maxReloadWatchInterval = time.Hour
)

// setReloadWatchInterval reads DEFENDER_RELOAD_WATCH_INTERVAL.
func setReloadWatchInterval(c *Config, v string) error {
	return setDuration(&c.ReloadWatchInterval, v)
}

// validateReload checks the reload watch interval: 0 (off) or within the
// bounds.
func (c *Config) validateReload() []error {
	d := c.ReloadWatchInterval
	if d == 0 {
		return nil
	}
	if d < minReloadWatchInterval || d > maxReloadWatchInterval {
		return []error{fmt.Errorf("DEFENDER_RELOAD_WATCH_INTERVAL: %s is out of range; use 0 (off) or %s to %s", d, minReloadWatchInterval, maxReloadWatchInterval)}
	}
	if len(c.ReloadableFiles()) == 0 {
		return []error{errors.New("DEFENDER_RELOAD_WATCH_INTERVAL is set but no reloadable file is configured (DEFENDER_POLICY_FILE, DEFENDER_API_KEYS_FILE, DEFENDER_TLS_CERT_FILE, DEFENDER_TLS_KEY_FILE, DEFENDER_CLIENT_CA_FILE)")}
	}
	return nil
}

// ReloadableFiles are the configured files the gateway re-reads on SIGHUP
// (and, with ReloadWatchInterval, when their content changes): the policy,
// the API keys and the listeners' TLS files, in that order.
func (c *Config) ReloadableFiles() []string {
	var files []string
	for _, f := range []string{c.PolicyFile, c.APIKeysFile, c.TLSCertFile, c.TLSKeyFile, c.ClientCAFile} {
		if f != "" {
			files = append(files, f)
		}
	}
	return files
}
