package service

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/defender-gateway/gateway/internal/defender"
)

// errorDomain is the ErrorInfo domain of every status the gateway returns.
const errorDomain = "defender.gateway"

// defaultThrottleRetry is the RetryInfo delay of a throttled call whose
// upstream sent no Retry-After. Graph and XDR quotas are per minute, so
// half a minute is a fair first back-off; a RESOURCE_EXHAUSTED without
// RetryInfo would leave clients to guess.
const defaultThrottleRetry = 30 * time.Second

// upstreamAuthMessage is the message of every KindUpstreamAuth error. The
// upstream's own text (AADSTS codes, the app id) is logged, not sent: the
// caller cannot act on it.
const upstreamAuthMessage = "the gateway's credentials were rejected by Microsoft Entra ID or the Defender API; an operator must fix the gateway configuration"

// ErrorInfo metadata keys. "request_id", the gateway's own request id (the
// one in its logs and in x-request-id), is added to every error status by
// the server's request-id interceptor; the upstream's ids have keys of
// their own, so that the id a caller reports finds the gateway's log.
const (
	metaUpstreamStatus          = "upstream_status"
	metaUpstreamCode            = "upstream_code"
	metaUpstreamRequestID       = "upstream_request_id"
	metaUpstreamClientRequestID = "upstream_client_request_id"
	metaPermission              = "permission"
)

// ToStatus is the single mapping from errors to gRPC statuses. The status
// message is the caller-safe Error.Message only; a cause never reaches it.
//
// A *defender.Error maps by kind, with an ErrorInfo (reason, domain
// "defender.gateway", metadata upstream_status, upstream_code,
// upstream_request_id, upstream_client_request_id and permission when known,
// plus the Error's own Metadata) on every status, and
// a google.rpc.Help detail when the Error carries Links:
//
//	KindInvalidArgument    INVALID_ARGUMENT
//	KindNotFound           NOT_FOUND
//	KindPermissionDenied   PERMISSION_DENIED
//	KindThrottled          RESOURCE_EXHAUSTED  + RetryInfo (Retry-After, else 30s)
//	KindUnavailable        UNAVAILABLE         + RetryInfo when Retry-After is known
//	KindDeadlineExceeded   DEADLINE_EXCEEDED
//	KindCanceled           CANCELLED
//	KindUpstreamAuth       UNAVAILABLE, reason UPSTREAM_CREDENTIALS_REJECTED or
//	                       TOKEN_ACQUISITION_FAILED, a fixed message for operators,
//	                       no RetryInfo (retrying does not help until it is fixed)
//	KindFailedPrecondition FAILED_PRECONDITION (e.g. ETAG_MISMATCH, or
//	                       CONSENT_REQUIRED with metadata consent_url and a
//	                       Help link to the admin-consent URL)
//	KindUnimplemented      UNIMPLEMENTED
//	KindUnauthenticated    UNAUTHENTICATED (the caller's credential or user token;
//	                       TOKEN_INVALID carries metadata "check")
//	KindResourceExhausted  RESOURCE_EXHAUSTED, a gateway limit (no RetryInfo)
//	KindInternal, unknown  INTERNAL "internal error" (the reason is kept, e.g.
//	                       UNSAFE_NEXT_LINK; the message never is)
//
// Other errors: an error carrying a gRPC status (the services' field errors)
// passes through unchanged; context.Canceled and context.DeadlineExceeded
// become CANCELLED and DEADLINE_EXCEEDED; anything else is a bug and becomes
// INTERNAL "internal error".
//
// Of the 17 codes, these are never produced, by design:
//
//	OK               not an error; ToStatus(nil) is OK, whose Err is nil.
//	UNKNOWN          every error is classified; what cannot be is INTERNAL.
//	ALREADY_EXISTS   the API creates nothing.
//	ABORTED          there are no transactions to retry; a concurrent change
//	                 detected by etag is FAILED_PRECONDITION (AIP-154).
//	OUT_OF_RANGE     a page size or token out of bounds is INVALID_ARGUMENT
//	                 (AIP-158); paging past the end yields an empty token.
//	DATA_LOSS        the gateway stores nothing that could be lost.
//
// UNAUTHENTICATED is only ever about the caller (KindUnauthenticated: a
// missing or rejected caller credential or user token); the gateway's own
// credentials being rejected is the operator's problem, so it is
// UNAVAILABLE (above). ToStatus is also what the caller-authentication and
// authorization interceptors answer with.
//
// Produced: CANCELLED, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND,
// PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, UNIMPLEMENTED,
// INTERNAL, UNAVAILABLE and UNAUTHENTICATED.
func ToStatus(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	if de, ok := defender.AsError(err); ok {
		return domainStatus(de)
	}
	var withStatus interface{ GRPCStatus() *status.Status }
	if errors.As(err, &withStatus) {
		if st := withStatus.GRPCStatus(); st != nil && st.Code() != codes.OK {
			return st
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return withDetails(codes.Canceled, "the call was canceled", errorInfo(defender.ReasonCanceled, nil))
	case errors.Is(err, context.DeadlineExceeded):
		return withDetails(codes.DeadlineExceeded, "the deadline passed before the call completed", errorInfo(defender.ReasonDeadlineExceeded, nil))
	}
	return internalStatus(nil)
}

// kindCodes maps each error kind to its code; kinds missing here are
// INTERNAL.
var kindCodes = map[defender.ErrorKind]codes.Code{
	defender.KindInvalidArgument:    codes.InvalidArgument,
	defender.KindNotFound:           codes.NotFound,
	defender.KindPermissionDenied:   codes.PermissionDenied,
	defender.KindThrottled:          codes.ResourceExhausted,
	defender.KindUnavailable:        codes.Unavailable,
	defender.KindDeadlineExceeded:   codes.DeadlineExceeded,
	defender.KindCanceled:           codes.Canceled,
	defender.KindUpstreamAuth:       codes.Unavailable,
	defender.KindFailedPrecondition: codes.FailedPrecondition,
	defender.KindUnimplemented:      codes.Unimplemented,
	defender.KindUnauthenticated:    codes.Unauthenticated,
	defender.KindResourceExhausted:  codes.ResourceExhausted,
}

// defaultReasons is the reason of an Error that carries none.
var defaultReasons = map[defender.ErrorKind]string{
	defender.KindInvalidArgument:    defender.ReasonInvalidArgument,
	defender.KindNotFound:           defender.ReasonNotFound,
	defender.KindPermissionDenied:   defender.ReasonUpstreamForbidden,
	defender.KindThrottled:          defender.ReasonThrottled,
	defender.KindUnavailable:        defender.ReasonUnavailable,
	defender.KindDeadlineExceeded:   defender.ReasonDeadlineExceeded,
	defender.KindCanceled:           defender.ReasonCanceled,
	defender.KindUpstreamAuth:       defender.ReasonUpstreamAuth,
	defender.KindFailedPrecondition: defender.ReasonEtagMismatch,
	defender.KindUnimplemented:      defender.ReasonUnsupportedByBackend,
	defender.KindUnauthenticated:    defender.ReasonCallerCredentialsMissing,
	defender.KindResourceExhausted:  defender.ReasonTooManyDeviceLogins,
}

// defaultMessages is the message of an Error that carries none.
var defaultMessages = map[codes.Code]string{
	codes.InvalidArgument:    "the request is invalid",
	codes.NotFound:           "the incident does not exist",
	codes.PermissionDenied:   "the upstream API denied the request",
	codes.ResourceExhausted:  "the upstream API throttled the request; retry later",
	codes.Unavailable:        "the upstream API is unavailable; retry later",
	codes.DeadlineExceeded:   "the deadline passed before the call completed",
	codes.Canceled:           "the call was canceled",
	codes.FailedPrecondition: "the incident is not in the state the request needs",
	codes.Unimplemented:      "the configured backend does not support this operation",
	codes.Unauthenticated:    "the caller is not authenticated",
}

func domainStatus(e *defender.Error) *status.Status {
	code, ok := kindCodes[e.Kind]
	if !ok {
		return internalStatus(e)
	}
	reason := e.Reason
	if reason == "" {
		reason = defaultReasons[e.Kind]
	}
	message := e.Message
	if message == "" {
		message = defaultMessages[code]
	}
	var retryAfter time.Duration
	switch e.Kind {
	case defender.KindUpstreamAuth:
		if reason != defender.ReasonTokenAcquisition {
			reason = defender.ReasonUpstreamAuth
		}
		message = upstreamAuthMessage
	case defender.KindThrottled:
		retryAfter = e.RetryAfter
		if retryAfter <= 0 {
			retryAfter = defaultThrottleRetry
		}
	case defender.KindUnavailable:
		retryAfter = e.RetryAfter
	}
	details := []protoadapt.MessageV1{errorInfo(reason, e)}
	if help := helpLinks(e.Links); help != nil {
		details = append(details, help)
	}
	if retryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
	}
	return withDetails(code, message, details...)
}

// internalStatus is INTERNAL "internal error". The Error, when there is
// one, lends its reason and upstream metadata, never its message or cause.
func internalStatus(e *defender.Error) *status.Status {
	reason := defender.ReasonInternal
	if e != nil && e.Reason != "" {
		reason = e.Reason
	}
	return withDetails(codes.Internal, "internal error", errorInfo(reason, e))
}

func errorInfo(reason string, e *defender.Error) *errdetails.ErrorInfo {
	info := &errdetails.ErrorInfo{Reason: reason, Domain: errorDomain}
	if e == nil {
		return info
	}
	meta := map[string]string{}
	if e.UpstreamStatus != 0 {
		meta[metaUpstreamStatus] = strconv.Itoa(e.UpstreamStatus)
	}
	if e.UpstreamCode != "" {
		meta[metaUpstreamCode] = e.UpstreamCode
	}
	if e.RequestID != "" {
		meta[metaUpstreamRequestID] = e.RequestID
	}
	if e.ClientRequestID != "" {
		meta[metaUpstreamClientRequestID] = e.ClientRequestID
	}
	if e.Permission != "" {
		meta[metaPermission] = e.Permission
	}
	for k, v := range e.Metadata {
		if _, taken := meta[k]; !taken {
			meta[k] = v
		}
	}
	if len(meta) > 0 {
		info.Metadata = meta
	}
	return info
}

// helpLinks is the Help detail of links, or nil when there are none.
func helpLinks(links []defender.Link) *errdetails.Help {
	if len(links) == 0 {
		return nil
	}
	help := &errdetails.Help{}
	for _, l := range links {
		help.Links = append(help.Links, &errdetails.Help_Link{Description: l.Description, Url: l.URL})
	}
	return help
}

// withDetails builds a status with details. Attaching well-known detail
// messages cannot fail; if it ever did, the bare status is still right.
func withDetails(code codes.Code, message string, details ...protoadapt.MessageV1) *status.Status {
	st := status.New(code, message)
	if rich, err := st.WithDetails(details...); err == nil {
		return rich
	}
	return st
}

// fieldError is the INVALID_ARGUMENT of a request field that fails a
// semantic check: message "<field>: <description>", a BadRequest naming the
// field and an ErrorInfo with reason INVALID_ARGUMENT — the same shape the
// validation interceptor produces.
func fieldError(field, description string) error {
	return withDetails(codes.InvalidArgument, field+": "+description,
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}}},
		errorInfo(defender.ReasonInvalidArgument, nil),
	).Err()
}

// errorReporter logs a failed call and turns its error into a status.
type errorReporter struct {
	log *slog.Logger
}

// fail logs err in full, cause included, with the request's context (which
// carries the request id for the log handler), and returns the caller-safe
// status error.
func (r errorReporter) fail(ctx context.Context, method string, err error) error {
	st := ToStatus(err)
	r.log.Log(ctx, logLevel(st.Code()), "call failed",
		slog.String("method", method),
		slog.String("code", st.Code().String()),
		slog.Any("error", err),
	)
	return st.Err()
}

// logLevel ranks a failure: bugs are errors, upstream and configuration
// trouble are warnings, the caller's own mistakes are informational.
func logLevel(code codes.Code) slog.Level {
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return slog.LevelError
	case codes.Unavailable, codes.ResourceExhausted, codes.PermissionDenied, codes.Unimplemented:
		return slog.LevelWarn
	default:
		return slog.LevelInfo
	}
}

// orDiscard returns log, or a logger that drops everything when log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// internalError wraps a bug or an impossible upstream answer found by the
// service itself: INTERNAL to the caller, cause in the log.
func internalError(cause error) error {
	return &defender.Error{Kind: defender.KindInternal, Reason: defender.ReasonInternal, Message: "internal error", Cause: cause}
}
