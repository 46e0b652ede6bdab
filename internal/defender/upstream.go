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
}

// send performs c and decodes a success body into out (when out is not nil).
func (u *upstream) send(ctx context.Context, c call, out any) error {
	if !u.base.contains(c.url) {
		// Callers check links and cursors first; this is the last guard.
		return Errorf(KindInternal, ReasonUnsafeNextLink, "%s: refusing to send a request outside the API base", c.op)
	}
	var body io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return &Error{Kind: KindInternal, Reason: ReasonInternal, Message: c.op + ": encoding the request body failed", Cause: err}
		}
		body = bytes.NewReader(b)
	}
	token, err := u.tokens.Token(ctx)
	if err != nil {
		return tokenError(ctx, c, err)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url.String(), body)
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
		u.logCall(ctx, c, requestID, 0, start, err)
		return transportError(ctx, c, err)
	}
	defer resp.Body.Close()
	u.logCall(ctx, c, requestID, resp.StatusCode, start, nil)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return statusError(c, resp, data, token, requestID, time.Now())
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
		return Errorf(KindInternal, ReasonInternal, "%s: the upstream sent an empty response", c.op)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Error{Kind: KindInternal, Reason: ReasonInternal,
			Message: c.op + ": the upstream sent a malformed response", UpstreamStatus: resp.StatusCode, Cause: err}
	}
	return nil
}

func (u *upstream) logCall(ctx context.Context, c call, requestID string, status int, start time.Time, err error) {
	attrs := []slog.Attr{
		slog.String("backend", string(u.kind)),
		slog.String("op", c.op),
		slog.String("method", c.method),
		slog.String("path", c.url.Path), // never the query: it may hold user data
		slog.String("client_request_id", requestID),
		slog.Duration("duration", time.Since(start)),
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", transportCause(err).Error()))
	}
	u.log.LogAttrs(ctx, slog.LevelDebug, "upstream call", attrs...)
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
