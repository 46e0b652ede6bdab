package defender

import "time"

// RetryPolicy is how the clients retry an upstream request that failed in
// a way a later attempt may not (docs/design.md "Retries and idempotency").
// The zero value makes one attempt only; the gateway's defaults are
// config's DEFENDER_RETRY_* settings.
type RetryPolicy struct {
	// MaxAttempts is the most attempts of one request, the first included;
	// below 2 nothing is retried.
	MaxAttempts int
	// BaseDelay is the first backoff; each retry doubles it, up to MaxDelay,
	// and the wait is drawn uniformly from [0, backoff] (full jitter).
	BaseDelay time.Duration
	// MaxDelay bounds every wait, backoff and Retry-After alike.
	MaxDelay time.Duration
}

// Backoff is the full-jitter wait before retry n (n ≥ 1).
func (p RetryPolicy) Backoff(n int, rnd func(int64) int64) time.Duration {
	ceiling := p.BaseDelay
	for i := 1; i < n && ceiling < p.MaxDelay; i++ {
		ceiling *= 2
	}
	if p.MaxDelay > 0 {
		ceiling = min(ceiling, p.MaxDelay)
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rnd(int64(ceiling) + 1))
}
