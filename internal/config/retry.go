package config

import (
	"fmt"
	"log/slog"
	"time"
)

// Retry is the upstream retry policy and the per-call timeouts.
type Retry struct {
	// CallTimeout is the deadline of an RPC whose caller set none, and the
	// cap of a longer one; HuntingCallTimeout is the same for
	// HuntingService, whose queries run up to 3 minutes upstream. A hunting
	// request upstream is bounded by HuntingCallTimeout, not by
	// DEFENDER_UPSTREAM_TIMEOUT, when that is shorter.
	CallTimeout        time.Duration
	HuntingCallTimeout time.Duration
	// MaxAttempts is the most attempts of one upstream request (1: no
	// retries); BaseDelay the first backoff, doubled per retry up to
	// MaxDelay, which also bounds a Retry-After the gateway waits out.
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// Defaults of the retry settings.
const (
	DefaultCallTimeout        = 30 * time.Second
	DefaultHuntingCallTimeout = 200 * time.Second
	DefaultRetryMaxAttempts   = 4
	DefaultRetryBaseDelay     = 200 * time.Millisecond
	DefaultRetryMaxDelay      = 10 * time.Second
	// maxRetryAttempts bounds DEFENDER_RETRY_MAX_ATTEMPTS.
	maxRetryAttempts = 10
)

func defaultRetry() Retry {
	return Retry{
		CallTimeout:        DefaultCallTimeout,
		HuntingCallTimeout: DefaultHuntingCallTimeout,
		MaxAttempts:        DefaultRetryMaxAttempts,
		BaseDelay:          DefaultRetryBaseDelay,
		MaxDelay:           DefaultRetryMaxDelay,
	}
}

// retrySettings are the retry entries of the settings table.
var retrySettings = []setting{
	{env: "DEFENDER_CALL_TIMEOUT", flag: "call-timeout", def: "30s", usage: "Deadline of an RPC whose caller set none; a caller's longer deadline is capped to it, a shorter one wins.",
		set: func(c *Config, v string) error { return setDuration(&c.Retry.CallTimeout, v) }},
	{env: "DEFENDER_HUNTING_CALL_TIMEOUT", flag: "hunting-call-timeout", def: "200s", usage: "DEFENDER_CALL_TIMEOUT of HuntingService, and the bound of one hunting request upstream.",
		set: func(c *Config, v string) error { return setDuration(&c.Retry.HuntingCallTimeout, v) }},
	{env: "DEFENDER_RETRY_MAX_ATTEMPTS", flag: "retry-max-attempts", def: "4", usage: "Most attempts of one upstream request, the first included (1: no retries).",
		set: func(c *Config, v string) error { return setInt(&c.Retry.MaxAttempts, v) }},
	{env: "DEFENDER_RETRY_BASE_DELAY", flag: "retry-base-delay", def: "200ms", usage: "First backoff between attempts, doubled per retry, with full jitter.",
		set: func(c *Config, v string) error { return setDuration(&c.Retry.BaseDelay, v) }},
	{env: "DEFENDER_RETRY_MAX_DELAY", flag: "retry-max-delay", def: "10s", usage: "Longest wait between attempts; a Retry-After longer than this is returned to the caller instead.",
		set: func(c *Config, v string) error { return setDuration(&c.Retry.MaxDelay, v) }},
}

// validateRetry checks the retry settings.
func (c *Config) validateRetry() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	r := c.Retry
	for _, d := range []struct {
		env string
		v   time.Duration
	}{
		{"DEFENDER_CALL_TIMEOUT", r.CallTimeout},
		{"DEFENDER_HUNTING_CALL_TIMEOUT", r.HuntingCallTimeout},
		{"DEFENDER_RETRY_BASE_DELAY", r.BaseDelay},
		{"DEFENDER_RETRY_MAX_DELAY", r.MaxDelay},
	} {
		if d.v <= 0 {
			add("%s: must be positive, not %s", d.env, d.v)
		}
	}
	if r.MaxAttempts < 1 || r.MaxAttempts > maxRetryAttempts {
		add("DEFENDER_RETRY_MAX_ATTEMPTS: must be between 1 and %d, not %d", maxRetryAttempts, r.MaxAttempts)
	}
	if r.BaseDelay > 0 && r.MaxDelay > 0 && r.BaseDelay > r.MaxDelay {
		add("DEFENDER_RETRY_BASE_DELAY (%s) is longer than DEFENDER_RETRY_MAX_DELAY (%s)", r.BaseDelay, r.MaxDelay)
	}
	if g := c.Transport.GRPCMaxConnectionAgeGrace; g > 0 && r.HuntingCallTimeout > 0 && g < r.HuntingCallTimeout {
		add("DEFENDER_GRPC_MAX_CONNECTION_AGE_GRACE (%s) is shorter than DEFENDER_HUNTING_CALL_TIMEOUT (%s): a hunting call in flight when its connection ages out would be cut off", g, r.HuntingCallTimeout)
	}
	return errs
}

func (r Retry) logAttrs() []slog.Attr {
	return []slog.Attr{
		slog.String("call_timeout", r.CallTimeout.String()),
		slog.String("hunting_call_timeout", r.HuntingCallTimeout.String()),
		slog.Int("retry_max_attempts", r.MaxAttempts),
		slog.String("retry_base_delay", r.BaseDelay.String()),
		slog.String("retry_max_delay", r.MaxDelay.String()),
	}
}
