package upstream

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

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/defender-gateway/gateway/internal/defender"
)

const (
	// maxSuccessBody bounds a success body: hunting results can be 50 MB.
	maxSuccessBody = 64 << 20
	// maxErrorBody bounds how much of an error body is read.
	maxErrorBody = 64 << 10
	userAgent    = "defender-gateway/1"
	ContentJSON  = "application/json"
	// ContentJSONUTF8 is what Graph asks for with non-ANSI query text.
	ContentJSONUTF8 = "application/json; charset=utf-8"
)

// Permissions names the upstream permission each kind of operation needs,
// for the message of a 403.
type Permissions struct {
	Read, Write, Hunt string
}

// Client is the HTTP core both clients share: it authenticates, sends and
// decodes every call and maps every failure to *Error.
type Client struct {
	Kind   defender.BackendKind
	Base   *APIBase
	client *http.Client
	tokens defender.TokenSource
	Log    *slog.Logger
	perms  Permissions
	// observer sees every attempt (metrics); nil sees none.
	observer defender.Observer
	// retry is the retry policy; timeout bounds one attempt, huntingTimeout
	// one hunting attempt (the larger of the two applies).
	retry                   defender.RetryPolicy
	timeout, huntingTimeout time.Duration
	// Sleep waits between attempts and rand draws the jitter; tests
	// replace them.
	Sleep func(context.Context, time.Duration) error
	Rand  func(int64) int64
}

// OpKind is what an upstream request does, which decides what some
// statuses mean (a 404 or a 409 means one thing on an incident's read or
// write and another on a listing or a query).
type OpKind int

const (
	// OpRead reads one incident.
	OpRead OpKind = iota + 1
	// OpWrite changes one incident (update, comment).
	OpWrite
	// OpList lists incidents.
	OpList
	// OpHunt runs a hunting query.
	OpHunt
)

// Call is one upstream request.
type Call struct {
	// Op names the operation in messages, e.g. "get incident".
	Op string
	// Kind is what the request does.
	Kind        OpKind
	Method      string
	URL         *url.URL
	Body        any    // JSON-encoded when not nil
	ContentType string // of body; application/json when empty
	Prefer      string // Prefer header, when not empty
	Permission  string // needed on this backend, named on a 403
	// AllowEmpty accepts an empty success body, leaving out untouched.
	AllowEmpty bool
	// Family is the request's family for the gate; from Kind when empty
	// (the incident and hunting families).
	Family defender.Family
	// Idem is which failures may be sent again (idemSafe by default).
	Idem Idempotency
	// Verify, for an IdemOnce request, reads whether an attempt whose
	// outcome is unknown was applied.
	Verify func(context.Context) (bool, error)
	// stream, when set, reads a success body itself (out is unused), as it
	// arrives; it returns decodeHunting's errors or its own. It runs once
	// per attempt.
	stream func(io.Reader) error
}

// family is c's API family.
func (c Call) family() defender.Family {
	if c.Family != "" {
		return c.Family
	}
	switch c.Kind {
	case OpList:
		return defender.FamilyIncidentRead
	case OpWrite:
		return defender.FamilyIncidentWrite
	case OpHunt:
		return defender.FamilyHunting
	}
	return defender.FamilyIncidentGet
}

// route is c's path with every incident and alert id replaced by {id}: what logs
// may show.
func (c Call) route() string {
	parts := strings.Split(c.URL.Path, "/")
	for i, p := range parts {
		if p != "" && (strings.Trim(p, "0123456789") == "" || i > 0 && parts[i-1] == "alerts_v2") {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// Send performs c, retrying it by u.retry and c.idem, and decodes a
// success body into out (when out is not nil). Before every attempt the
// call's gate (WithGate) admits it; every 429 is reported to the gate.
func (u *Client) Send(ctx context.Context, c Call, out any) error {
	if !u.Base.Contains(c.URL) {
		// Callers check links and cursors first; this is the last guard.
		return defender.Errorf(defender.KindInternal, defender.ReasonUnsafeNextLink, "%s: refusing to send a request outside the API base", c.Op)
	}
	var body []byte
	if c.Body != nil {
		b, err := json.Marshal(c.Body)
		if err != nil {
			return &defender.Error{Kind: defender.KindInternal, Reason: defender.ReasonInternal, Message: c.Op + ": encoding the request body failed", Cause: err}
		}
		body = b
	}
	gate := defender.GateFrom(ctx)
	var last *defender.Error // the failure of the previous attempt
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
		e, _ := defender.AsError(err)
		last = e
		if f == failThrottled && u.observer != nil {
			u.observer.UpstreamThrottled(string(u.Kind), string(c.family()), defender.TenantLabel(ctx))
		}
		if f == failThrottled && gate != nil {
			gate.Throttled(c.family(), throttleWait(e), u.Kind == defender.BackendXDR)
		}
		if !c.Idem.retryable(f, c.Kind) && c.Idem == IdemOnce && (f == failAmbiguous || f == failUnavailable) && c.Verify != nil {
			// It may have been applied: look before sending it again.
			applied, verr := c.Verify(ctx)
			switch {
			case verr != nil:
				return err // the original failure: the verify's says less
			case applied:
				u.Log.LogAttrs(ctx, slog.LevelInfo, "upstream call applied despite its failure",
					slog.String("op", c.Op), slog.String("method", c.Method), slog.String("route", c.route()),
					slog.Int("attempt", attempt))
				return nil
			}
			f = failNotSent // verified not applied: as if never sent
		}
		if !c.Idem.retryable(f, c.Kind) || attempt >= u.retry.MaxAttempts {
			return err
		}
		// The upstream's Retry-After (or a 429's quota window) wins over
		// the backoff; one longer than the policy waits is returned.
		wait := u.retry.Backoff(attempt, u.Rand)
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
		u.Log.LogAttrs(ctx, slog.LevelWarn, "upstream call failed, retrying",
			slog.String("backend", string(u.Kind)), slog.String("op", c.Op), slog.String("method", c.Method),
			slog.String("route", c.route()), slog.Int("status", e.UpstreamStatus), slog.String("reason", e.Reason),
			slog.Int("attempt", attempt), slog.Duration("wait", wait))
		if err := u.Sleep(ctx, wait); err != nil {
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
func gateRefusal(err error, last *defender.Error) error {
	refusal, ok := defender.AsError(err)
	if !ok || last == nil || last.Kind != defender.KindThrottled || refusal.Kind != defender.KindThrottled {
		return err
	}
	throttled := *last
	throttled.RetryAfter = max(last.RetryAfter, refusal.RetryAfter)
	return &throttled
}

// attempt sends c once; sent is false when it failed before the request
// could be sent, for want of a token.
func (u *Client) attempt(ctx context.Context, c Call, body []byte, out any, attempt int) (sent bool, err error) {
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
func (u *Client) requestTimeout(c Call) time.Duration {
	if c.Kind == OpHunt {
		return max(u.timeout, u.huntingTimeout)
	}
	return u.timeout
}

// do sends c once under actx (the attempt's context, a child of ctx).
func (u *Client) do(ctx, actx context.Context, c Call, body []byte, out any, token string, attempt int) error {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, c.Method, c.URL.String(), reader)
	if err != nil {
		// The error text holds the URL: not used as the cause.
		return defender.Errorf(defender.KindInternal, defender.ReasonInternal, "%s: building the request for %s failed", c.Op, c.URL.Path)
	}
	requestID := newGUID()
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", ContentJSON)
	req.Header.Set("client-request-id", requestID)
	req.Header.Set("User-Agent", userAgent)
	if c.Body != nil {
		ct := c.ContentType
		if ct == "" {
			ct = ContentJSON
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.Prefer != "" {
		req.Header.Set("Prefer", c.Prefer)
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
		return defender.Errorf(defender.KindInternal, defender.ReasonInternal, "%s: the upstream response exceeds %d MiB", c.Op, maxSuccessBody>>20)
	}
	if out == nil {
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if c.AllowEmpty {
			return nil
		}
		return defender.Errorf(defender.KindUnavailable, defender.ReasonUpstreamMalformed, "%s: the upstream sent an empty response", c.Op)
	}
	// encoding/json's semantics on the v2 engine (go-json-experiment,
	// the Go team's encoding/json/v2 outside GOEXPERIMENT): 1.5 to 1.7
	// times faster and a third fewer allocations on the Graph incident
	// wire structs (docs/benchmarks.md).
	if err := jsonv1.Unmarshal(data, out); err != nil {
		return &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonUpstreamMalformed,
			Message: c.Op + ": the upstream sent a malformed response", UpstreamStatus: resp.StatusCode, Cause: err}
	}
	return nil
}

// logCall logs one attempt, at debug, or at info when it failed (no
// response, or a status that is not 2xx): its client_request_id is what
// Microsoft support needs to find the request. It also reports the attempt
// to the observer.
func (u *Client) logCall(ctx context.Context, c Call, requestID string, status int, start time.Time, attempt int, err error) {
	elapsed := time.Since(start)
	if u.observer != nil {
		u.observer.UpstreamRequest(string(u.Kind), string(c.family()), defender.TenantLabel(ctx), status, elapsed)
	}
	level, msg := slog.LevelDebug, "upstream call"
	if err != nil || status < 200 || status > 299 {
		level, msg = slog.LevelInfo, "upstream call failed"
	}
	attrs := []slog.Attr{
		slog.String("backend", string(u.Kind)),
		slog.String("op", c.Op),
		slog.String("method", c.Method),
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
	u.Log.LogAttrs(ctx, level, msg, attrs...)
}

// tokenError passes a token source's *Error through unchanged.
func tokenError(ctx context.Context, c Call, err error) error {
	if _, ok := defender.AsError(err); ok {
		return err
	}
	if ctxErr := contextError(ctx, c); ctxErr != nil {
		return ctxErr
	}
	return &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonTokenAcquisition,
		Message: c.Op + ": acquiring an upstream token failed", Cause: err}
}

// transportError maps a failure to get or read a response.
func transportError(ctx context.Context, c Call, err error) error {
	if ctxErr := contextError(ctx, c); ctxErr != nil {
		ctxErr.Cause = transportCause(err)
		return ctxErr
	}
	return &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonUnavailable,
		Message: fmt.Sprintf("%s: the upstream could not be reached (%s %s)", c.Op, c.Method, c.URL.Path),
		Cause:   transportCause(err)}
}

func contextError(ctx context.Context, c Call) *defender.Error {
	switch err := ctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		return defender.Errorf(defender.KindDeadlineExceeded, defender.ReasonDeadlineExceeded, "%s: the deadline passed before the upstream answered", c.Op)
	case errors.Is(err, context.Canceled):
		return defender.Errorf(defender.KindCanceled, defender.ReasonCanceled, "%s: the call was canceled", c.Op)
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
