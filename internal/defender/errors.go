package defender

import (
	"errors"
	"fmt"
	"time"
)

// ErrorKind classifies a failure the way a caller must react to it. The
// service layer maps each kind to one gRPC code.
type ErrorKind int

// The error kinds.
const (
	// KindInternal is a bug or an unexpected upstream answer.
	KindInternal ErrorKind = iota
	// KindInvalidArgument: the request is wrong (a 400 upstream, or a
	// value the gateway rejects before calling). Message is safe to show.
	KindInvalidArgument
	// KindNotFound: the resource does not exist (404 upstream).
	KindNotFound
	// KindPermissionDenied: the upstream refused the gateway's identity
	// (403), or the tenant is not allowed.
	KindPermissionDenied
	// KindThrottled: a quota is used up (429); RetryAfter says when to retry.
	KindThrottled
	// KindUnavailable: the upstream failed (5xx, reset, timeout of its own).
	KindUnavailable
	// KindDeadlineExceeded: the caller's deadline passed.
	KindDeadlineExceeded
	// KindCanceled: the caller went away.
	KindCanceled
	// KindUpstreamAuth: the gateway's own credentials were rejected, by
	// Entra ID at token time or by the API with a 401.
	KindUpstreamAuth
	// KindFailedPrecondition: the resource is not in the state the request
	// needs (etag mismatch, missing consent).
	KindFailedPrecondition
	// KindUnimplemented: the backend does not offer the operation or option.
	KindUnimplemented
)

// Stable ErrorInfo reasons. They are part of the API: never rename one.
const (
	ReasonInvalidArgument      = "INVALID_ARGUMENT"
	ReasonUpstreamBadRequest   = "UPSTREAM_BAD_REQUEST"
	ReasonNotFound             = "INCIDENT_NOT_FOUND"
	ReasonUpstreamForbidden    = "UPSTREAM_PERMISSION_DENIED"
	ReasonTenantNotAllowed     = "TENANT_NOT_ALLOWED"
	ReasonThrottled            = "UPSTREAM_THROTTLED"
	ReasonUnavailable          = "UPSTREAM_UNAVAILABLE"
	ReasonDeadlineExceeded     = "DEADLINE_EXCEEDED"
	ReasonCanceled             = "CANCELED"
	ReasonUpstreamAuth         = "UPSTREAM_CREDENTIALS_REJECTED"
	ReasonTokenAcquisition     = "TOKEN_ACQUISITION_FAILED"
	ReasonEtagMismatch         = "ETAG_MISMATCH"
	ReasonUnsupportedByBackend = "UNSUPPORTED_BY_BACKEND"
	ReasonUnsafeNextLink       = "UNSAFE_NEXT_LINK"
	ReasonInternal             = "INTERNAL"
	// ReasonConsentRequired: the tenant's administrator has not granted the
	// app admin consent (AADSTS65001).
	ReasonConsentRequired = "CONSENT_REQUIRED"
	// ReasonNotConfigured: the operation needs a setting that is not set.
	ReasonNotConfigured = "NOT_CONFIGURED"
)

// Error is every failure of this package. Message is written for the
// caller and never holds a token, a secret or a raw upstream body beyond the
// upstream's own error message; Cause is for logs only.
type Error struct {
	Kind    ErrorKind
	Reason  string
	Message string
	// RetryAfter is how long to wait before retrying, for KindThrottled and
	// KindUnavailable; 0 when unknown.
	RetryAfter time.Duration
	// Permission names the missing upstream permission, for a 403.
	Permission string
	// UpstreamStatus is the upstream HTTP status, 0 when none was received.
	UpstreamStatus int
	// UpstreamCode is the upstream error code, e.g. "ResourceNotFound".
	UpstreamCode string
	// RequestID is the upstream's request or tracking id, for support.
	RequestID string
	// Metadata is extra caller-safe ErrorInfo metadata, e.g. consent_url.
	Metadata map[string]string
	// Links are caller-safe links that help resolve the error (a
	// google.rpc.Help detail), e.g. the admin-consent URL.
	Links []Link
	// Cause is the underlying error. It is logged, never sent to callers.
	Cause error
}

func (e *Error) Error() string {
	s := e.Reason + ": " + e.Message
	if e.UpstreamStatus != 0 {
		s += fmt.Sprintf(" (upstream %d %s)", e.UpstreamStatus, e.UpstreamCode)
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Link is a documentation or action link for the caller.
type Link struct {
	Description string
	URL         string
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// AsError returns err as an *Error, if it is or wraps one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Errorf builds an *Error of the given kind and reason with a caller-safe
// message.
func Errorf(kind ErrorKind, reason, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}
