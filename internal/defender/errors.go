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
	// KindUnauthenticated: the caller, or the user token it presented, is
	// not authenticated (a missing or rejected credential of the caller's,
	// never the gateway's own).
	KindUnauthenticated
	// KindResourceExhausted: a gateway limit is reached (not upstream
	// throttling, which is KindThrottled).
	KindResourceExhausted
)

// Stable ErrorInfo reasons. They are part of the API: never rename one.
const (
	ReasonInvalidArgument    = "INVALID_ARGUMENT"
	ReasonUpstreamBadRequest = "UPSTREAM_BAD_REQUEST"
	ReasonNotFound           = "INCIDENT_NOT_FOUND"
	// ReasonAlertNotFound: an upstream 404 on an alert's read or write.
	ReasonAlertNotFound = "ALERT_NOT_FOUND"
	// ReasonUpstreamNotFound: a 404 on a listing or a hunting query, which
	// names no incident: the API endpoint or the tenant's Defender data was
	// not found (a wrong API URL, or a tenant without Defender).
	ReasonUpstreamNotFound = "UPSTREAM_NOT_FOUND"
	// ReasonUpstreamConflict: a 409 or 412 on a read, a listing or a query,
	// which sends no precondition, so it is not an etag mismatch but the
	// upstream's own trouble.
	ReasonUpstreamConflict  = "UPSTREAM_CONFLICT"
	ReasonUpstreamForbidden = "UPSTREAM_PERMISSION_DENIED"
	ReasonTenantNotAllowed  = "TENANT_NOT_ALLOWED"
	ReasonThrottled         = "UPSTREAM_THROTTLED"
	// ReasonQuotaExhausted: the gateway's own budget for the tenant and API
	// family cannot admit the call within its deadline; nothing went
	// upstream. RetryAfter says when capacity frees up.
	ReasonQuotaExhausted = "QUOTA_EXHAUSTED"
	// ReasonShuttingDown: the gateway is draining; a call queued for quota
	// (or arriving then) is refused with KindUnavailable, nothing upstream.
	ReasonShuttingDown = "SHUTTING_DOWN"
	// ReasonUpstreamMalformed: the upstream answered success with a body
	// that does not decode (truncated or not JSON); KindUnavailable.
	ReasonUpstreamMalformed = "UPSTREAM_MALFORMED_RESPONSE"
	// ReasonResultTooLarge: a hunting result is larger than one RunQuery
	// response may carry (FAILED_PRECONDITION; metadata limit_bytes): the
	// caller should use StreamQuery.
	ReasonResultTooLarge       = "RESULT_TOO_LARGE"
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

	// Caller authentication (UNAUTHENTICATED).

	// ReasonCallerCredentialsMissing: the caller presented no credential
	// the configured mode accepts.
	ReasonCallerCredentialsMissing = "CALLER_CREDENTIALS_MISSING"
	// ReasonClientCertificateRequired: mtls without a verified client
	// certificate.
	ReasonClientCertificateRequired = "CLIENT_CERTIFICATE_REQUIRED"
	// ReasonAPIKeyInvalid: the API key matches no configured key.
	ReasonAPIKeyInvalid = "API_KEY_INVALID"
	// ReasonTokenInvalid: a caller or user token failed validation; the
	// ErrorInfo metadata "check" names the check (signature, issuer,
	// audience, expired, not_before, tenant, malformed).
	ReasonTokenInvalid = "TOKEN_INVALID"
	// ReasonUserAssertionRejected: Entra ID refused the user's token as an
	// on-behalf-of assertion (AADSTS50013, AADSTS500133).
	ReasonUserAssertionRejected = "USER_ASSERTION_REJECTED"

	// Authorization (PERMISSION_DENIED).

	// ReasonOperationNotAllowed: the policy does not allow the caller the
	// operation in the tenant.
	ReasonOperationNotAllowed = "OPERATION_NOT_ALLOWED"
	// ReasonCallerTenantNotAllowed: the policy does not allow the caller
	// the tenant.
	ReasonCallerTenantNotAllowed = "CALLER_TENANT_NOT_ALLOWED"
	// ReasonUserContextRequired: the policy requires the caller to use the
	// user context (a user token or a signed-in account).
	ReasonUserContextRequired = "USER_CONTEXT_REQUIRED"
	// ReasonAccountNotAllowed: the policy does not allow the caller the
	// named signed-in account.
	ReasonAccountNotAllowed = "ACCOUNT_NOT_ALLOWED"
	// ReasonCallerRoleMissing: a valid app token lacks the app role
	// caller authentication jwt requires (metadata "required_role").
	ReasonCallerRoleMissing = "CALLER_ROLE_MISSING"
	// ReasonCallerScopeMissing: a valid user token lacks the delegated
	// scope the gateway requires (metadata "required_scope").
	ReasonCallerScopeMissing = "CALLER_SCOPE_MISSING"
	// ReasonUserTenantMismatch: the user's token or account belongs to
	// another tenant than the one named in the request.
	ReasonUserTenantMismatch = "USER_TENANT_MISMATCH"

	// User context (FAILED_PRECONDITION, NOT_FOUND, RESOURCE_EXHAUSTED).

	// ReasonAccountNotSignedIn: no device-code sign-in of the named account.
	ReasonAccountNotSignedIn = "ACCOUNT_NOT_SIGNED_IN"
	// ReasonSignInRequired: the account's sign-in can no longer be renewed
	// silently (refresh token expired or revoked): sign in again.
	ReasonSignInRequired = "SIGN_IN_REQUIRED"
	// ReasonInteractionRequired: Entra ID needs the user to interact (MFA,
	// conditional access; AADSTS50076, AADSTS50079, interaction_required).
	ReasonInteractionRequired = "INTERACTION_REQUIRED"
	// ReasonPublicClientDisabled: the app registration does not allow
	// public client flows, which device-code sign-in needs (AADSTS7000218).
	ReasonPublicClientDisabled = "PUBLIC_CLIENT_FLOWS_DISABLED"
	// ReasonDeviceLoginNotFound: an unknown or forgotten device login.
	ReasonDeviceLoginNotFound = "DEVICE_LOGIN_NOT_FOUND"
	// ReasonTooManyDeviceLogins: too many device logins are pending.
	ReasonTooManyDeviceLogins = "TOO_MANY_DEVICE_LOGINS"
	// ReasonTenantLookupFailed: the id of a tenant named by domain could
	// not be looked up at the authority (UNAVAILABLE).
	ReasonTenantLookupFailed = "TENANT_LOOKUP_FAILED"
	// ReasonTooManyTenantLookups: the gateway's bound on lookups of tenant
	// domains is reached (RESOURCE_EXHAUSTED).
	ReasonTooManyTenantLookups = "TOO_MANY_TENANT_LOOKUPS"
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
	// RequestID is the upstream's request or tracking id, for support
	// (Graph's request-id, XDR's error.target, Entra ID's trace_id). It is
	// never the gateway's own request id, which the server adds to every
	// error status.
	RequestID string
	// ClientRequestID is the client-request-id of the upstream request (as
	// echoed by the upstream, else as sent), for support.
	ClientRequestID string
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
