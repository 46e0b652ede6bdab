package upstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/defender-gateway/gateway/internal/defender"
)

const (
	// maxRetryAfter clamps an upstream Retry-After.
	maxRetryAfter = time.Hour
	// maxUpstreamText bounds upstream strings copied into an *Error.
	maxUpstreamText = 1024
	Redacted        = "[REDACTED]"
)

// upstreamErrorBody is both error shapes: Graph
// {"error":{"code","message","innerError":{"request-id",...}}} and XDR
// {"error":{"code","message","target"}}. Field names match
// case-insensitively.
type upstreamErrorBody struct {
	Error struct {
		Code       json.RawMessage `json:"code"` // a string, or a number such as 429
		Message    json.RawMessage `json:"message"`
		Target     json.RawMessage `json:"target"`
		InnerError struct {
			RequestID json.RawMessage `json:"request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// parsedUpstreamError is what is kept of an error body.
type parsedUpstreamError struct {
	code, message, requestID, target string
}

func parseUpstreamError(body []byte) parsedUpstreamError {
	var b upstreamErrorBody
	if json.Unmarshal(body, &b) != nil {
		return parsedUpstreamError{}
	}
	return parsedUpstreamError{
		code:      scalarText(b.Error.Code),
		message:   scalarText(b.Error.Message),
		requestID: scalarText(b.Error.InnerError.RequestID),
		target:    scalarText(b.Error.Target),
	}
}

// scalarText returns a JSON string's value or a number's text; "" for
// anything else.
func scalarText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// statusError maps a non-2xx response to *Error. Only a 400's upstream
// message reaches Message; the token, should an upstream echo it, is
// redacted from every copied string.
//
// What a 404 or a 409/412 means depends on c.kind: on an incident's read or
// write a 404 is the incident not found; on a listing or a query it is the
// endpoint or the tenant. A 409/412 is a conflict with the incident's state
// only on a write; the gateway sends no precondition upstream, so on a read,
// a listing or a query it is the upstream's own, transient trouble.
func statusError(c Call, resp *http.Response, body []byte, token, clientRequestID string, now time.Time) *defender.Error {
	status := resp.StatusCode
	up := parseUpstreamError(body)
	clean := func(s string) string { return cleanUpstreamText(s, token) }
	e := &defender.Error{
		UpstreamStatus:  status,
		UpstreamCode:    clean(up.code),
		RequestID:       clean(FirstNonEmpty(resp.Header.Get("request-id"), up.requestID, up.target)),
		ClientRequestID: clean(FirstNonEmpty(resp.Header.Get("client-request-id"), clientRequestID)),
	}
	incidentOp := c.Kind == OpRead || c.Kind == OpWrite
	switch {
	case status == http.StatusBadRequest && !(c.Kind == OpHunt && isCPUQuotaMessage(up.message)):
		e.Kind, e.Reason = defender.KindInvalidArgument, defender.ReasonUpstreamBadRequest
		e.Message = clean(up.message)
		if e.Message == "" {
			e.Message = fmt.Sprintf("%s: the upstream rejected the request (HTTP %d)", c.Op, status)
		}
	case status == http.StatusUnauthorized:
		e.Kind, e.Reason = defender.KindUpstreamAuth, defender.ReasonUpstreamAuth
		e.Message = c.Op + ": the upstream API rejected the gateway's credentials"
	case status == http.StatusForbidden:
		e.Kind, e.Reason = defender.KindPermissionDenied, defender.ReasonUpstreamForbidden
		e.Permission = c.Permission
		e.Message = fmt.Sprintf("%s: the upstream API denied access; the gateway's identity needs the %s permission", c.Op, c.Permission)
	case status == http.StatusNotFound && incidentOp:
		e.Kind, e.Reason = defender.KindNotFound, defender.ReasonNotFound
		e.Message = fmt.Sprintf("%s: not found upstream (%s)", c.Op, c.URL.Path)
	case status == http.StatusNotFound:
		e.Kind, e.Reason = defender.KindNotFound, defender.ReasonUpstreamNotFound
		e.Message = fmt.Sprintf("%s: the upstream has no %s (HTTP 404): check the API URL and that the tenant has Microsoft Defender", c.Op, c.URL.Path)
	case (status == http.StatusConflict || status == http.StatusPreconditionFailed) && c.Kind == OpWrite:
		e.Kind, e.Reason = defender.KindFailedPrecondition, defender.ReasonEtagMismatch
		e.Message = fmt.Sprintf("%s: the upstream refused the change in the resource's current state (HTTP %d)", c.Op, status)
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		e.Kind, e.Reason = defender.KindUnavailable, defender.ReasonUpstreamConflict
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		e.Message = fmt.Sprintf("%s: the upstream answered HTTP %d to a request without preconditions; retry later", c.Op, status)
	case status == http.StatusTooManyRequests,
		c.Kind == OpHunt && status == http.StatusBadRequest && isCPUQuotaMessage(up.message):
		// A hunting CPU-quota error is throttling whatever its status.
		e.Kind, e.Reason = defender.KindThrottled, defender.ReasonThrottled
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		if e.RetryAfter == 0 {
			// XDR names its window instead: "maximum allowed 45 per 00:01:00".
			e.RetryAfter = parseQuotaWindow(up.message)
		}
		e.Message = c.Op + ": the upstream quota is used up"
	case status >= 500:
		e.Kind, e.Reason = defender.KindUnavailable, defender.ReasonUnavailable
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		e.Message = fmt.Sprintf("%s: the upstream failed (HTTP %d)", c.Op, status)
	default:
		e.Kind, e.Reason = defender.KindInternal, defender.ReasonInternal
		e.Message = fmt.Sprintf("%s: unexpected upstream answer (HTTP %d)", c.Op, status)
	}
	return e
}

// parseRetryAfter reads delta-seconds or an HTTP-date; absent or invalid is
// 0, and the result is clamped to [0, maxRetryAfter].
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs >= int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// cleanUpstreamText makes an upstream string safe for an *Error: the token
// redacted, valid UTF-8, bounded length.
func cleanUpstreamText(s, token string) string {
	if token != "" {
		s = strings.ReplaceAll(s, token, Redacted)
	}
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if len(s) > maxUpstreamText {
		cut := maxUpstreamText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func FirstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
