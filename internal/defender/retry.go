package defender

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

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

// idempotency is which failed attempts of a request may be sent again.
type idempotency int

const (
	// idemSafe: a read, a hunting query or a PATCH of absolute field
	// values; sending it twice leaves what sending it once does.
	idemSafe idempotency = iota
	// idemOnce: a request that adds something (a comment); it is re-sent
	// only after a failure that proves it was not applied, or after its
	// verify found it was not.
	idemOnce
)

// failure classifies a failed attempt.
type failure int

const (
	// failFinal is not retried (4xx other than 429, a token failure…).
	failFinal failure = iota
	// failThrottled is a 429 (or a hunting CPU-quota error): not applied.
	failThrottled
	// failNotSent is a failure to connect: nothing reached the upstream.
	failNotSent
	// failUnavailable is a 503: the upstream did not take the request, as
	// far as it says.
	failUnavailable
	// failAmbiguous may have been applied: a reset or timeout after the
	// request was sent, a 500/502/504.
	failAmbiguous
	// failMalformed is a success whose body did not decode: applied.
	failMalformed
)

// retryable reports whether a request of idempotency i may be sent again
// after f without asking the upstream first.
func (i idempotency) retryable(f failure, kind opKind) bool {
	switch f {
	case failThrottled, failNotSent:
		return true
	case failUnavailable, failAmbiguous:
		return i == idemSafe
	case failMalformed:
		// A write that answered success was applied: never again.
		return i == idemSafe && kind != opWrite
	}
	return false
}

// classify returns what kind of failure err of attempt was.
func classify(ctx context.Context, err error) failure {
	if ctx.Err() != nil {
		return failFinal // the caller's deadline or cancel: never retried
	}
	e, ok := AsError(err)
	if !ok {
		return failFinal
	}
	switch {
	case e.Kind == KindThrottled:
		return failThrottled
	case e.Reason == ReasonUpstreamMalformed:
		return failMalformed
	case e.UpstreamStatus == http.StatusServiceUnavailable:
		return failUnavailable
	case e.UpstreamStatus == http.StatusInternalServerError, e.UpstreamStatus == http.StatusBadGateway,
		e.UpstreamStatus == http.StatusGatewayTimeout:
		return failAmbiguous
	case e.UpstreamStatus == 0 && e.Reason == ReasonUnavailable && e.Cause != nil:
		if notSent(e.Cause) {
			return failNotSent
		}
		return failAmbiguous // reset, EOF, timeout after sending
	}
	return failFinal
}

// notSent reports whether a transport error happened before the request
// could be sent: a failed dial (connection refused, no route, DNS).
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED)
}

// backoff is the full-jitter wait before retry n (n ≥ 1).
func (p RetryPolicy) backoff(n int, rnd func(int64) int64) time.Duration {
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

// throttleWait is the wait a 429 names: its Retry-After, else the window
// of an XDR body (statusError puts either in RetryAfter), else 0.
func throttleWait(e *Error) time.Duration { return e.RetryAfter }

// xdrWindow matches the window of an XDR quota message, "maximum allowed
// 45 per 00:01:00".
var xdrWindow = regexp.MustCompile(`(?i)\bper\s+(\d{1,3}):([0-5]\d):([0-5]\d)\b`)

// parseQuotaWindow returns the hh:mm:ss window an upstream quota message
// names, 0 when none; clamped to maxRetryAfter.
func parseQuotaWindow(message string) time.Duration {
	m := xdrWindow.FindStringSubmatch(message)
	if m == nil {
		return 0
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	s, _ := strconv.Atoi(m[3])
	d := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second
	return min(d, maxRetryAfter)
}

// isCPUQuotaMessage recognises a hunting error about the tenant's CPU or
// resource quota, which is throttling whatever its status.
func isCPUQuotaMessage(message string) bool {
	m := strings.ToLower(message)
	return (strings.Contains(m, "cpu") || strings.Contains(m, "resource")) &&
		(strings.Contains(m, "quota") || strings.Contains(m, "exceed") || strings.Contains(m, "limit"))
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func randInt64N(n int64) int64 { return rand.Int64N(n) }
