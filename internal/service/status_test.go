package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/pagetoken"
)

// secretCause stands for an internal cause that must never reach a caller.
var secretCause = errors.New("POST https://login.example/token: Bearer eyJhbGciOi.secret AADSTS7000215 client_secret=hunter2")

func info(reason string, meta map[string]string) *errdetails.ErrorInfo {
	return &errdetails.ErrorInfo{Reason: reason, Domain: "defender.gateway", Metadata: meta}
}

func retry(d time.Duration) *errdetails.RetryInfo {
	return &errdetails.RetryInfo{RetryDelay: durationpb.New(d)}
}

// statusDetails returns the details of st as proto messages.
func statusDetails(t *testing.T, st *status.Status) []proto.Message {
	t.Helper()
	var out []proto.Message
	for _, d := range st.Details() {
		m, ok := d.(proto.Message)
		if !ok {
			t.Fatalf("detail %v is not a proto message (%T)", d, d)
		}
		out = append(out, m)
	}
	return out
}

func TestToStatusMapsEveryKind(t *testing.T) {
	full := func(kind defender.ErrorKind, reason, msg string) *defender.Error {
		return &defender.Error{Kind: kind, Reason: reason, Message: msg, Cause: secretCause,
			UpstreamStatus: 418, UpstreamCode: "Teapot", RequestID: "req-1", ClientRequestID: "creq-1", Permission: "Perm.All"}
	}
	meta := map[string]string{"upstream_status": "418", "upstream_code": "Teapot", "upstream_request_id": "req-1", "upstream_client_request_id": "creq-1", "permission": "Perm.All"}
	authMessage := "the gateway's credentials were rejected by Microsoft Entra ID or the Defender API; an operator must fix the gateway configuration"
	cases := []struct {
		name    string
		err     error
		code    codes.Code
		message string
		details []proto.Message
	}{
		{"invalid argument", full(defender.KindInvalidArgument, defender.ReasonUpstreamBadRequest, "Query could not be parsed near 'whre'"),
			codes.InvalidArgument, "Query could not be parsed near 'whre'", []proto.Message{info("UPSTREAM_BAD_REQUEST", meta)}},
		{"not found", full(defender.KindNotFound, defender.ReasonNotFound, "incident 9 not found"),
			codes.NotFound, "incident 9 not found", []proto.Message{info("INCIDENT_NOT_FOUND", meta)}},
		{"permission denied", full(defender.KindPermissionDenied, defender.ReasonUpstreamForbidden, "missing Perm.All"),
			codes.PermissionDenied, "missing Perm.All", []proto.Message{info("UPSTREAM_PERMISSION_DENIED", meta)}},
		{"tenant not allowed", defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed, "tenant x is not allowed"),
			codes.PermissionDenied, "tenant x is not allowed", []proto.Message{info("TENANT_NOT_ALLOWED", nil)}},
		{"throttled with Retry-After", &defender.Error{Kind: defender.KindThrottled, Reason: defender.ReasonThrottled, Message: "slow down", RetryAfter: 7 * time.Second},
			codes.ResourceExhausted, "slow down", []proto.Message{info("UPSTREAM_THROTTLED", nil), retry(7 * time.Second)}},
		{"throttled without Retry-After defaults to 30s", defender.Errorf(defender.KindThrottled, defender.ReasonThrottled, "slow down"),
			codes.ResourceExhausted, "slow down", []proto.Message{info("UPSTREAM_THROTTLED", nil), retry(30 * time.Second)}},
		{"unavailable with Retry-After", &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonUnavailable, Message: "upstream 503", RetryAfter: 2 * time.Second},
			codes.Unavailable, "upstream 503", []proto.Message{info("UPSTREAM_UNAVAILABLE", nil), retry(2 * time.Second)}},
		{"unavailable without Retry-After has no RetryInfo", full(defender.KindUnavailable, defender.ReasonUnavailable, "upstream 500"),
			codes.Unavailable, "upstream 500", []proto.Message{info("UPSTREAM_UNAVAILABLE", meta)}},
		{"malformed upstream answer keeps its own reason", full(defender.KindUnavailable, defender.ReasonUpstreamMalformed, "list incidents: the upstream sent a malformed response"),
			codes.Unavailable, "list incidents: the upstream sent a malformed response", []proto.Message{info("UPSTREAM_MALFORMED_RESPONSE", meta)}},
		{"deadline exceeded", full(defender.KindDeadlineExceeded, defender.ReasonDeadlineExceeded, "deadline passed"),
			codes.DeadlineExceeded, "deadline passed", []proto.Message{info("DEADLINE_EXCEEDED", meta)}},
		{"canceled", full(defender.KindCanceled, defender.ReasonCanceled, "canceled"),
			codes.Canceled, "canceled", []proto.Message{info("CANCELED", meta)}},
		{"upstream 401", full(defender.KindUpstreamAuth, defender.ReasonUpstreamAuth, "AADSTS7000215: Invalid client secret for app 1234"),
			codes.Unavailable, authMessage, []proto.Message{info("UPSTREAM_CREDENTIALS_REJECTED", meta)}},
		{"token acquisition", &defender.Error{Kind: defender.KindUpstreamAuth, Reason: defender.ReasonTokenAcquisition, Message: "AADSTS700016", RetryAfter: time.Second},
			codes.Unavailable, authMessage, []proto.Message{info("TOKEN_ACQUISITION_FAILED", nil)}},
		{"upstream auth with another reason", defender.Errorf(defender.KindUpstreamAuth, "SOMETHING", "x"),
			codes.Unavailable, authMessage, []proto.Message{info("UPSTREAM_CREDENTIALS_REJECTED", nil)}},
		{"failed precondition", defender.Errorf(defender.KindFailedPrecondition, defender.ReasonEtagMismatch, "etag changed"),
			codes.FailedPrecondition, "etag changed", []proto.Message{info("ETAG_MISMATCH", nil)}},
		{"unimplemented", defender.Errorf(defender.KindUnimplemented, defender.ReasonUnsupportedByBackend, "XDR has no timespan"),
			codes.Unimplemented, "XDR has no timespan", []proto.Message{info("UNSUPPORTED_BY_BACKEND", nil)}},
		{"internal keeps reason and metadata, not message", full(defender.KindInternal, defender.ReasonUnsafeNextLink, "nextLink points at evil.example"),
			codes.Internal, "internal error", []proto.Message{info("UNSAFE_NEXT_LINK", meta)}},
		{"internal without reason", &defender.Error{Kind: defender.KindInternal, Cause: secretCause},
			codes.Internal, "internal error", []proto.Message{info("INTERNAL", nil)}},
		{"unknown kind is internal", &defender.Error{Kind: defender.ErrorKind(99), Reason: "X", Message: "leaky"},
			codes.Internal, "internal error", []proto.Message{info("X", nil)}},
		{"empty reason and message get defaults", &defender.Error{Kind: defender.KindNotFound},
			codes.NotFound, "the incident does not exist", []proto.Message{info("INCIDENT_NOT_FOUND", nil)}},
		{"wrapped domain error", fmt.Errorf("list: %w", defender.Errorf(defender.KindNotFound, defender.ReasonNotFound, "gone")),
			codes.NotFound, "gone", []proto.Message{info("INCIDENT_NOT_FOUND", nil)}},
		{"context canceled", fmt.Errorf("read: %w", context.Canceled),
			codes.Canceled, "the call was canceled", []proto.Message{info("CANCELED", nil)}},
		{"context deadline", context.DeadlineExceeded,
			codes.DeadlineExceeded, "the deadline passed before the call completed", []proto.Message{info("DEADLINE_EXCEEDED", nil)}},
		{"status error passes through", status.Error(codes.Aborted, "as is"),
			codes.Aborted, "as is", nil},
		{"wrapped status error passes through without the wrapping text", fmt.Errorf("secret wrapper: %w", status.Error(codes.NotFound, "as is")),
			codes.NotFound, "as is", nil},
		{"plain error is internal", secretCause,
			codes.Internal, "internal error", []proto.Message{info("INTERNAL", nil)}},
		{"page token error", pagetoken.ErrInvalid,
			codes.Internal, "internal error", []proto.Message{info("INTERNAL", nil)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := ToStatus(tc.err)
			if st.Code() != tc.code || st.Message() != tc.message {
				t.Errorf("status = %v %q, want %v %q", st.Code(), st.Message(), tc.code, tc.message)
			}
			if diff := cmp.Diff(tc.details, statusDetails(t, st), protocmp.Transform()); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
			for _, leak := range []string{"Bearer", "eyJ", "hunter2", "AADSTS", "login.example"} {
				if strings.Contains(st.Message(), leak) {
					t.Errorf("message %q leaks %q", st.Message(), leak)
				}
			}
		})
	}
}

func TestToStatusOfNilIsOK(t *testing.T) {
	if st := ToStatus(nil); st.Code() != codes.OK || st.Err() != nil {
		t.Errorf("ToStatus(nil) = %v, want OK", st)
	}
}

func TestFieldError(t *testing.T) {
	st := status.Convert(fieldError("incident.tags[2]", "must be 1 to 128 characters"))
	if st.Code() != codes.InvalidArgument || st.Message() != "incident.tags[2]: must be 1 to 128 characters" {
		t.Errorf("status = %v %q", st.Code(), st.Message())
	}
	want := []proto.Message{
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "incident.tags[2]", Description: "must be 1 to 128 characters"}}},
		info("INVALID_ARGUMENT", nil),
	}
	if diff := cmp.Diff(want, statusDetails(t, st), protocmp.Transform()); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
}

// The full error, cause included, goes to the log with the request's
// context; only the safe message goes to the caller.
func TestFailLogsTheCauseAndReturnsOnlyTheMessage(t *testing.T) {
	var buf bytes.Buffer
	ctxKey := struct{}{}
	handler := contextHandler{Handler: slog.NewTextHandler(&buf, nil), key: ctxKey}
	r := errorReporter{log: slog.New(handler)}
	ctx := context.WithValue(context.Background(), ctxKey, "req-42")

	err := r.fail(ctx, "GetIncident", &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonUnavailable, Message: "upstream failed", Cause: secretCause})

	st := status.Convert(err)
	if st.Code() != codes.Unavailable || st.Message() != "upstream failed" {
		t.Errorf("status = %v %q", st.Code(), st.Message())
	}
	logged := buf.String()
	for _, want := range []string{"level=WARN", "method=GetIncident", "code=Unavailable", "hunter2", "request=req-42"} {
		if !strings.Contains(logged, want) {
			t.Errorf("log %q lacks %q", logged, want)
		}
	}
}

// contextHandler adds the context value under key to every record, as a
// request-id handler does.
type contextHandler struct {
	slog.Handler
	key any
}

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if v, ok := ctx.Value(h.key).(string); ok {
		r.AddAttrs(slog.String("request", v))
	}
	return h.Handler.Handle(ctx, r)
}
