package upstream

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

	"github.com/defender-gateway/gateway/internal/defender"
)

// Idempotency is which failed attempts of a request may be sent again.
type Idempotency int

const (
	// idemSafe: a read, a hunting query or a PATCH of absolute field
	// values; sending it twice leaves what sending it once does.
	idemSafe Idempotency = iota
	// IdemOnce: a request that adds something (a comment); it is re-sent
	// only after a failure that proves it was not applied, or after its
	// verify found it was not.
	IdemOnce
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
func (i Idempotency) retryable(f failure, kind OpKind) bool {
	switch f {
	case failThrottled, failNotSent:
		return true
	case failUnavailable, failAmbiguous:
		return i == idemSafe
	case failMalformed:
		// A write that answered success was applied: never again.
		return i == idemSafe && kind != OpWrite
	}
	return false
}

// classify returns what kind of failure err of attempt was.
func classify(ctx context.Context, err error) failure {
	if ctx.Err() != nil {
		return failFinal // the caller's deadline or cancel: never retried
	}
	e, ok := defender.AsError(err)
	if !ok {
		return failFinal
	}
	switch {
	case e.Kind == defender.KindThrottled:
		return failThrottled
	case e.Reason == defender.ReasonUpstreamMalformed:
		return failMalformed
	case e.UpstreamStatus == http.StatusServiceUnavailable:
		return failUnavailable
	case e.UpstreamStatus == http.StatusInternalServerError, e.UpstreamStatus == http.StatusBadGateway,
		e.UpstreamStatus == http.StatusGatewayTimeout:
		return failAmbiguous
	case e.UpstreamStatus == 0 && e.Reason == defender.ReasonUnavailable && e.Cause != nil:
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

// throttleWait is the wait a 429 names: its Retry-After, else the window
// of an XDR body (statusError puts either in RetryAfter), else 0.
func throttleWait(e *defender.Error) time.Duration { return e.RetryAfter }

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
