package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/defender-gateway/gateway/internal/service"
)

// The REST error model: every error answer, whoever raised it (the gRPC
// server, grpc-gateway while parsing, or the HTTP layer itself), is a
// google.rpc.Status in JSON with an ErrorInfo of domain "defender.gateway"
// and a caller-safe message. Statuses from the gRPC server pass as they are
// (service.ToStatus made them); what grpc-gateway or the gRPC client raise
// is replaced by our own status here, its text only logged.

// Reasons of the errors the HTTP layer raises.
const (
	ReasonRequestTooLarge      = "REQUEST_TOO_LARGE"
	ReasonInvalidPath          = "INVALID_PATH"
	ReasonRouteNotFound        = "ROUTE_NOT_FOUND"
	ReasonMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	ReasonUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	ReasonMalformedBody        = "MALFORMED_BODY"
	ReasonInvalidArgument      = "INVALID_ARGUMENT"
	ReasonMessageTooLarge      = "MESSAGE_TOO_LARGE"
	ReasonNotServing           = "NOT_SERVING"
)

// edgeStatus builds a status with an ErrorInfo (reason, our domain, the
// metadata) after the other details.
func edgeStatus(code codes.Code, reason, message string, meta map[string]string, details ...protoadapt.MessageV1) *status.Status {
	info := &errdetails.ErrorInfo{Reason: reason, Domain: errorDomain}
	if len(meta) > 0 {
		info.Metadata = meta
	}
	st := status.New(code, message)
	if rich, err := st.WithDetails(append(details, info)...); err == nil {
		return rich
	}
	return st
}

// fieldStatus is INVALID_ARGUMENT naming a request field or parameter, in
// the shape the validation interceptor gives field errors.
func fieldStatus(reason, field, description string) *status.Status {
	return edgeStatus(codes.InvalidArgument, reason, field+": "+description, nil,
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}}})
}

func tooLargeStatus(limit int64) *status.Status {
	return edgeStatus(codes.InvalidArgument, ReasonRequestTooLarge,
		fmt.Sprintf("the request body is larger than the limit of %d bytes", limit),
		map[string]string{"limit_bytes": strconv.FormatInt(limit, 10)})
}

// errorInfoOf returns the ErrorInfo of st, or nil.
func errorInfoOf(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// ours reports whether st was made by the gateway (it has our ErrorInfo);
// anything else was raised by a library and must not reach a caller.
func ours(st *status.Status) bool {
	return errorInfoOf(st).GetDomain() == errorDomain
}

// statusWithRequestID puts the request id in the ErrorInfo metadata of st,
// unless it has one.
func statusWithRequestID(st *status.Status, id string) *status.Status {
	if id == "" {
		return st
	}
	p := st.Proto()
	for i, d := range p.GetDetails() {
		info := &errdetails.ErrorInfo{}
		if !d.MessageIs(info) || d.UnmarshalTo(info) != nil {
			continue
		}
		if info.Metadata[metaRequestID] != "" {
			return st
		}
		if info.Metadata == nil {
			info.Metadata = map[string]string{}
		}
		info.Metadata[metaRequestID] = id
		if a, err := anypb.New(info); err == nil {
			p.Details[i] = a
		}
		return status.FromProto(p)
	}
	return st
}

// writeStatus writes st as the JSON body of an httpStatus answer.
func writeStatus(w http.ResponseWriter, httpStatus int, st *status.Status) {
	body, err := protojson.Marshal(st.Proto())
	if err != nil {
		httpStatus = http.StatusInternalServerError
		body = []byte(`{"code":13,"message":"internal error"}`)
	}
	h := w.Header()
	h.Del("Trailer")
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if secs := retryAfterSeconds(st); secs > 0 {
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}

// retryAfterSeconds is the RetryInfo delay of st in whole seconds, rounded
// up so that a client honouring Retry-After never comes back early; 0 when
// st has none. REST clients and proxies read the header, not the body.
func retryAfterSeconds(st *status.Status) int64 {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			delay := ri.GetRetryDelay().AsDuration()
			if delay <= 0 {
				return 0
			}
			return int64((delay + time.Second - 1) / time.Second)
		}
	}
	return 0
}

// httpStatusOf is the HTTP status of st (grpc-gateway's mapping).
func httpStatusOf(st *status.Status) int { return runtime.HTTPStatusFromCode(st.Code()) }

// handleError is grpc-gateway's error handler: it answers every error of a
// routed REST call. A status of the gRPC server passes unchanged (its
// ErrorInfo carries what the server put there); the HTTP layer's own get
// the request id in their ErrorInfo metadata, and those raised before the
// call reached gRPC are audited here.
func (e *restEdge) handleError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	es := stateOf(ctx)
	st, httpStatus, fromServer := e.classify(ctx, r, es, err)
	switch {
	case fromServer:
		writeStatus(w, httpStatus, st)
	case es == nil || es.invoked:
		// The gRPC side has recorded the call.
		writeStatus(w, httpStatus, statusWithRequestID(st, es.id()))
	default:
		e.refuse(w, r, st, httpStatus)
	}
}

// classify turns an error of a REST call into the status to answer;
// fromServer reports a status the gRPC server made.
func (e *restEdge) classify(ctx context.Context, r *http.Request, es *edgeState, err error) (_ *status.Status, httpStatus int, fromServer bool) {
	if es != nil && es.bodyTooLarge {
		return tooLargeStatus(e.maxBody), http.StatusRequestEntityTooLarge, false
	}
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		e.log.InfoContext(ctx, "REST request path refused", "error", hse.Err)
		return edgeStatus(codes.InvalidArgument, ReasonInvalidPath, "the request path is malformed", nil), http.StatusBadRequest, false
	}
	st := status.Convert(err)
	if ours(st) {
		return st, httpStatusOf(st), true
	}
	// Raised by grpc-gateway (parsing the request) or by gRPC itself.
	if es != nil && !es.invoked && st.Code() == codes.InvalidArgument {
		out := requestStatus(r, es)
		e.log.InfoContext(ctx, "REST request refused by the gateway", "code", st.Code().String(), "error", st.Message())
		return out, httpStatusOf(out), false
	}
	out := e.libraryStatus(ctx, st)
	return out, httpStatusOf(out), false
}

// libraryStatus replaces a status gRPC or grpc-gateway raised (not the
// gRPC server's) with ours, its text only logged.
func (e *restEdge) libraryStatus(ctx context.Context, st *status.Status) *status.Status {
	var out *status.Status
	switch {
	case st.Code() == codes.DeadlineExceeded:
		out = service.ToStatus(context.DeadlineExceeded)
	case st.Code() == codes.Canceled:
		out = service.ToStatus(context.Canceled)
	case st.Code() == codes.ResourceExhausted:
		out = edgeStatus(codes.ResourceExhausted, ReasonMessageTooLarge,
			"the request or response is larger than the gateway's message limit; narrow the request", nil)
	case st.Code() == codes.Unavailable:
		out = edgeStatus(codes.Unavailable, ReasonNotServing, "the gateway is not serving this request; retry later", nil)
	default:
		e.log.ErrorContext(ctx, "REST call failed inside the gateway", "code", st.Code().String(), "error", st.Message())
		return service.ToStatus(errors.New("internal"))
	}
	e.log.InfoContext(ctx, "REST request refused by the gateway", "code", st.Code().String(), "error", st.Message())
	return out
}

// handleStreamError is grpc-gateway's error handler of a streaming REST
// call: the last NDJSON line {"error": status}, or the whole answer when
// nothing was streamed yet. The gRPC server's statuses pass unchanged;
// what gRPC raised (a connection lost mid-stream) is replaced by ours.
func (e *restEdge) handleStreamError(ctx context.Context, err error) *status.Status {
	st := status.Convert(err)
	if ours(st) {
		return st
	}
	return statusWithRequestID(e.libraryStatus(ctx, st), stateOf(ctx).id())
}

// handleRoutingError is grpc-gateway's routing error handler: no route
// matches the path (404), a route matches with another method (405, with
// Allow), or the path is not a path (400).
func (e *restEdge) handleRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		allow := e.allowedMethods(r)
		w.Header().Set("Allow", allow)
		e.refuse(w, r, edgeStatus(codes.Unimplemented, ReasonMethodNotAllowed,
			fmt.Sprintf("this path does not accept %s; allowed: %s", safeMethod(r.Method), allow), nil), httpStatus)
	case http.StatusNotFound:
		e.refuse(w, r, notFoundStatus(), httpStatus)
	default:
		e.refuse(w, r, edgeStatus(codes.InvalidArgument, ReasonInvalidPath, "the request path is malformed", nil), http.StatusBadRequest)
	}
}

func notFoundStatus() *status.Status {
	return edgeStatus(codes.NotFound, ReasonRouteNotFound, "no API route matches this path; the routes are listed in /openapi.json", nil)
}

// safeMethod is r.Method if it is a plain token of a sensible length.
func safeMethod(m string) string {
	if len(m) > 16 {
		return "this method"
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return "this method"
		}
	}
	return m
}
