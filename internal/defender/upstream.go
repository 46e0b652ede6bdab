package defender

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// maxSuccessBody bounds a success body: hunting results can be 50 MB.
	maxSuccessBody = 64 << 20
	// maxErrorBody bounds how much of an error body is read.
	maxErrorBody = 64 << 10
	userAgent    = "defender-gateway/1"
	contentJSON  = "application/json"
	// contentJSONUTF8 is what Graph asks for with non-ANSI query text.
	contentJSONUTF8 = "application/json; charset=utf-8"
)

// permissions names the upstream permission each kind of operation needs,
// for the message of a 403.
type permissions struct {
	read, write, hunt string
}

// upstream is the HTTP core both clients share: it authenticates, sends and
// decodes every call and maps every failure to *Error.
type upstream struct {
	kind   BackendKind
	base   *apiBase
	client *http.Client
	tokens TokenSource
	log    *slog.Logger
	perms  permissions
	// observer sees every attempt (metrics); nil sees none.
	observer Observer
	// retry is the retry policy; timeout bounds one attempt, huntingTimeout
	// one hunting attempt (the larger of the two applies).
	retry                   RetryPolicy
	timeout, huntingTimeout time.Duration
	// sleep waits between attempts and rand draws the jitter; tests
	// replace them.
	sleep func(context.Context, time.Duration) error
	rand  func(int64) int64
}

// opKind is what an upstream request does, which decides what some
// statuses mean (a 404 or a 409 means one thing on an incident's read or
// write and another on a listing or a query).
type opKind int

const (
	// opRead reads one incident.
	opRead opKind = iota + 1
	// opWrite changes one incident (update, comment).
	opWrite
	// opList lists incidents.
	opList
	// opHunt runs a hunting query.
	opHunt
)

// call is one upstream request.
type call struct {
	// op names the operation in messages, e.g. "get incident".
	op string
	// kind is what the request does.
	kind        opKind
	method      string
	url         *url.URL
	body        any    // JSON-encoded when not nil
	contentType string // of body; application/json when empty
	prefer      string // Prefer header, when not empty
	permission  string // needed on this backend, named on a 403
	// allowEmpty accepts an empty success body, leaving out untouched.
	allowEmpty bool
	// fam is the request's family for the gate; from kind when empty.
	fam Family
	// idem is which failures may be sent again (idemSafe by default).
	idem idempotency
	// verify, for an idemOnce request, reads whether an attempt whose
	// outcome is unknown was applied.
	verify func(context.Context) (bool, error)
	// stream, when set, reads a success body itself (out is unused), as it
	// arrives; it returns decodeHunting's errors or its own. It runs once
	// per attempt.
	stream func(io.Reader) error
}

// family is c's API family.
func (c call) family() Family {
	if c.fam != "" {
		return c.fam
	}
	switch c.kind {
	case opList:
		return FamilyIncidentRead
	case opWrite:
		return FamilyIncidentWrite
	case opHunt:
		return FamilyHunting
	}
	return FamilyIncidentGet
}

// route is c's path with every incident id replaced by {id}: what logs
// may show.
func (c call) route() string {
	parts := strings.Split(c.url.Path, "/")
	for i, p := range parts {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// send performs c, retrying it by u.retry and c.idem, and decodes a
// success body into out (when out is not nil). Before every attempt the
// call's gate (WithGate) admits it; every 429 is reported to the gate.
func (u *upstream) send(ctx context.Context, c call, out any) error {
	if !u.base.contains(c.url) {
		// Callers check links and cursors first; this is the last guard.
		return Errorf(KindInternal, ReasonUnsafeNextLink, "%s: refusing to send a request outside the API base", c.op)
	}
	var body []byte
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return &Error{Kind: KindInternal, Reason: ReasonInternal, Message: c.op + ": encoding the request body failed", Cause: err}
		}
		body = b
	}
	gate := gateFrom(ctx)
	var last *Error // the failure of the previous attempt
	for attempt := 1; ; attempt++ {
		if gate != nil {
			if err := gate.Admit(ctx, c.family()); err != nil {
				return gateRefusal(err, last)
			}
		}
		sent, err := u.attempt(ctx, c, body, out, attempt)
		if err == nil {
			return nil
		}
		if final, ok := err.(*noRetry); ok {
			return final.err
		}
		f := classify(ctx, err)
		if !sent && f != failFinal {
			// No token (Entra ID down or throttling the gateway): nothing
			// reached the API, whose quota did not throttle either.
			f = failNotSent
		}
		e, _ := AsError(err)
		last = e
		if f == failThrottled && u.observer != nil {
			u.observer.UpstreamThrottled(string(u.kind), string(c.family()), TenantLabel(ctx))
		}
		if f == failThrottled && gate != nil {
			gate.Throttled(c.family(), throttleWait(e), u.kind == BackendXDR)
		}
		if !c.idem.retryable(f, c.kind) && c.idem == idemOnce && (f == failAmbiguous || f == failUnavailable) && c.verify != nil {
			// It may have been applied: look before sending it again.
			applied, verr := c.verify(ctx)
			switch {
			case verr != nil:
				return err // the original failure: the verify's says less
			case applied:
				u.log.LogAttrs(ctx, slog.LevelInfo, "upstream call applied despite its failure",
					slog.String("op", c.op), slog.String("method", c.method), slog.String("route", c.route()),
					slog.Int("attempt", attempt))
				return nil
			}
			f = failNotSent // verified not applied: as if never sent
		}
		if !c.idem.retryable(f, c.kind) || attempt >= u.retry.MaxAttempts {
			return err
		}
		// The upstream's Retry-After (or a 429's quota window) wins over
		// the backoff; one longer than the policy waits is returned.
		wait := u.retry.backoff(attempt, u.rand)
		if e.RetryAfter > 0 {
			if u.retry.MaxDelay > 0 && e.RetryAfter > u.retry.MaxDelay {
				return err
			}
			wait = e.RetryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			// The next attempt could not start before the deadline.
			if f == failThrottled && e.RetryAfter == 0 {
				e.RetryAfter = wait
			}
			return err
		}
		u.log.LogAttrs(ctx, slog.LevelWarn, "upstream call failed, retrying",
			slog.String("backend", string(u.kind)), slog.String("op", c.op), slog.String("method", c.method),
			slog.String("route", c.route()), slog.Int("status", e.UpstreamStatus), slog.String("reason", e.Reason),
			slog.Int("attempt", attempt), slog.Duration("wait", wait))
		if err := u.sleep(ctx, wait); err != nil {
			if ctxErr := contextError(ctx, c); ctxErr != nil {
				return ctxErr
			}
			return err
		}
	}
}

// gateRefusal is what a call returns when its gate refuses an attempt.
// The first attempt's refusal is returned as is (nothing went upstream).
// A retry's, after the upstream throttled the call, is the upstream's own
// 429 (UPSTREAM_THROTTLED: the caller was throttled upstream, not by the
// gateway's budget alone), with the wait the gate named when it is longer:
// the hold the 429 left, e.g. until the next 15-minute hunting cycle.
func gateRefusal(err error, last *Error) error {
	refusal, ok := AsError(err)
	if !ok || last == nil || last.Kind != KindThrottled || refusal.Kind != KindThrottled {
		return err
	}
	throttled := *last
	throttled.RetryAfter = max(last.RetryAfter, refusal.RetryAfter)
	return &throttled
}

// attempt sends c once; sent is false when it failed before the request
// could be sent, for want of a token.
func (u *upstream) attempt(ctx context.Context, c call, body []byte, out any, attempt int) (sent bool, err error) {
	token, err := u.tokens.Token(ctx)
	if err != nil {
		return false, tokenError(ctx, c, err)
	}
	// Each attempt has its own bound (DEFENDER_UPSTREAM_TIMEOUT, or the
	// hunting one); the caller's deadline, when sooner, still wins.
	if timeout := u.requestTimeout(c); timeout > 0 {
		actx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return true, u.do(ctx, actx, c, body, out, token, attempt)
	}
	return true, u.do(ctx, ctx, c, body, out, token, attempt)
}

// requestTimeout is the bound of one attempt of c.
func (u *upstream) requestTimeout(c call) time.Duration {
	if c.kind == opHunt {
		return max(u.timeout, u.huntingTimeout)
	}
	return u.timeout
}

// do sends c once under actx (the attempt's context, a child of ctx).
func (u *upstream) do(ctx, actx context.Context, c call, body []byte, out any, token string, attempt int) error {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, c.method, c.url.String(), reader)
	if err != nil {
		// The error text holds the URL: not used as the cause.
		return Errorf(KindInternal, ReasonInternal, "%s: building the request for %s failed", c.op, c.url.Path)
	}
	requestID := newGUID()
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", contentJSON)
	req.Header.Set("client-request-id", requestID)
	req.Header.Set("User-Agent", userAgent)
	if c.body != nil {
		ct := c.contentType
		if ct == "" {
			ct = contentJSON
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.prefer != "" {
		req.Header.Set("Prefer", c.prefer)
	}

	start := time.Now()
	resp, err := u.client.Do(req)
	if err != nil {
		u.logCall(ctx, c, requestID, 0, start, attempt, err)
		return transportError(ctx, c, err)
	}
	defer resp.Body.Close()
	u.logCall(ctx, c, requestID, resp.StatusCode, start, attempt, nil)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return statusError(c, resp, data, token, requestID, time.Now())
	}
	if c.stream != nil {
		return streamError(ctx, c, resp.StatusCode, c.stream(resp.Body))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSuccessBody+1))
	if err != nil {
		return transportError(ctx, c, err)
	}
	if len(data) > maxSuccessBody {
		return Errorf(KindInternal, ReasonInternal, "%s: the upstream response exceeds %d MiB", c.op, maxSuccessBody>>20)
	}
	if out == nil {
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if c.allowEmpty {
			return nil
		}
		return Errorf(KindUnavailable, ReasonUpstreamMalformed, "%s: the upstream sent an empty response", c.op)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Error{Kind: KindUnavailable, Reason: ReasonUpstreamMalformed,
			Message: c.op + ": the upstream sent a malformed response", UpstreamStatus: resp.StatusCode, Cause: err}
	}
	return nil
}

// logCall logs one attempt, at debug, or at info when it failed (no
// response, or a status that is not 2xx): its client_request_id is what
// Microsoft support needs to find the request. It also reports the attempt
// to the observer.
func (u *upstream) logCall(ctx context.Context, c call, requestID string, status int, start time.Time, attempt int, err error) {
	elapsed := time.Since(start)
	if u.observer != nil {
		u.observer.UpstreamRequest(string(u.kind), string(c.family()), TenantLabel(ctx), status, elapsed)
	}
	level, msg := slog.LevelDebug, "upstream call"
	if err != nil || status < 200 || status > 299 {
		level, msg = slog.LevelInfo, "upstream call failed"
	}
	attrs := []slog.Attr{
		slog.String("backend", string(u.kind)),
		slog.String("op", c.op),
		slog.String("method", c.method),
		slog.String("route", c.route()), // never ids or the query: it may hold user data
		slog.Int("attempt", attempt),
		slog.String("client_request_id", requestID),
		slog.Duration("duration", elapsed),
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", transportCause(err).Error()))
	}
	u.log.LogAttrs(ctx, level, msg, attrs...)
}

// tokenError passes a token source's *Error through unchanged.
func tokenError(ctx context.Context, c call, err error) error {
	if _, ok := AsError(err); ok {
		return err
	}
	if ctxErr := contextError(ctx, c); ctxErr != nil {
		return ctxErr
	}
	return &Error{Kind: KindUnavailable, Reason: ReasonTokenAcquisition,
		Message: c.op + ": acquiring an upstream token failed", Cause: err}
}

// transportError maps a failure to get or read a response.
func transportError(ctx context.Context, c call, err error) error {
	if ctxErr := contextError(ctx, c); ctxErr != nil {
		ctxErr.Cause = transportCause(err)
		return ctxErr
	}
	return &Error{Kind: KindUnavailable, Reason: ReasonUnavailable,
		Message: fmt.Sprintf("%s: the upstream could not be reached (%s %s)", c.op, c.method, c.url.Path),
		Cause:   transportCause(err)}
}

func contextError(ctx context.Context, c call) *Error {
	switch err := ctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		return Errorf(KindDeadlineExceeded, ReasonDeadlineExceeded, "%s: the deadline passed before the upstream answered", c.op)
	case errors.Is(err, context.Canceled):
		return Errorf(KindCanceled, ReasonCanceled, "%s: the call was canceled", c.op)
	}
	return nil
}

// transportCause strips the *url.Error wrapper, whose text holds the full
// URL including the query string.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// newGUID returns a random (version 4) GUID for client-request-id.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
