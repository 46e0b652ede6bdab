package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/defender-gateway/gateway/internal/audit"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/callerauth"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/service"
)

// The HTTP edge of the REST API. In front of grpc-gateway, for every /v1/
// request (cheapest checks first, nothing read or parsed yet):
//
//  1. a request id (X-Request-Id if plain, else a new one), returned in
//     X-Request-Id and forwarded to gRPC as x-request-id, so that the REST
//     answer, the gRPC call's logs and the audit record share it; the
//     headers Cache-Control: no-store and X-Content-Type-Options: nosniff;
//  2. path hygiene: an encoded slash or backslash (%2F, %5C) inside a
//     segment is refused (400 INVALID_PATH), as Envoy's
//     path_with_escaped_slashes_action REJECT_REQUEST does;
//  3. the body cap: a Content-Length over the limit is answered 413
//     without reading a byte; other bodies are read through
//     http.MaxBytesReader, whose limit becomes a 413 when hit; form bodies
//     (which net/http would parse into the query) are refused with 415.
//
// Inside grpc-gateway, once the route is known (404 and 405 come from
// routing, before anything else), a middleware authenticates the caller with
// the same Authenticator as the gRPC side, before the query or body is
// parsed: an unauthenticated caller gets 401 and learns nothing from
// validation. The gRPC side authenticates the call again and stays the one
// place of authorization. Every request the HTTP layer refuses itself
// leaves an audit record (audit.Refusal); the others are recorded by the
// gRPC interceptors.

// DefaultMaxRequestBodyBytes is the REST body limit when none is set.
const DefaultMaxRequestBodyBytes = 1 << 20

// restEdge holds what the HTTP edge needs.
type restEdge struct {
	log     *slog.Logger
	authn   *callerauth.Authenticator
	audit   *audit.Logger // nil: no records
	maxBody int64
	routes  routeTable
}

// newRestEdge builds the edge; maxBody 0 is DefaultMaxRequestBodyBytes.
func newRestEdge(log *slog.Logger, authn *callerauth.Authenticator, auditLog *audit.Logger, maxBody int64) (*restEdge, error) {
	if maxBody <= 0 {
		maxBody = DefaultMaxRequestBodyBytes
	}
	routes, err := newRouteTable("defender.v1")
	if err != nil {
		return nil, err
	}
	return &restEdge{log: log, authn: authn, audit: auditLog, maxBody: maxBody, routes: routes}, nil
}

// edgeState is what the edge learns about one /v1/ request, shared by the
// edge, the middleware, the decoder and the error handler.
type edgeState struct {
	start     time.Time
	requestID string
	route     route
	request   proto.Message   // the route's request message, path filled in
	caller    *caller.Request // set once authenticated
	// bodyTooLarge: the body passed the limit while being read.
	bodyTooLarge bool
	// body is what was read of the request body (at most the limit).
	body bytes.Buffer
	// invoked: the call was handed to the gRPC client.
	invoked bool
}

func (s *edgeState) id() string {
	if s == nil {
		return ""
	}
	return s.requestID
}

type edgeStateKey struct{}

func stateOf(ctx context.Context) *edgeState {
	s, _ := ctx.Value(edgeStateKey{}).(*edgeState)
	return s
}

// edgeRequestID is the request's X-Request-Id if it is plain, else a new id.
func edgeRequestID(r *http.Request) string {
	if vs := r.Header.Values(RequestIDHeader); len(vs) == 1 && validRequestID.MatchString(vs[0]) {
		return vs[0]
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// serveAPI is the edge of a /v1/ request; gw is grpc-gateway.
func (e *restEdge) serveAPI(w http.ResponseWriter, r *http.Request, gw http.Handler) {
	es := &edgeState{start: time.Now(), requestID: edgeRequestID(r)}
	r.Header.Set(RequestIDHeader, es.requestID)
	h := w.Header()
	h.Set("X-Request-Id", es.requestID)
	h.Set("Cache-Control", "no-store")
	ctx := context.WithValue(r.Context(), edgeStateKey{}, es)
	ctx = context.WithValue(ctx, requestIDKey{}, es.requestID) // for audit records
	r = r.WithContext(ctx)

	if hasEncodedSeparator(r.URL.EscapedPath()) {
		e.refuse(w, r, edgeStatus(codes.InvalidArgument, ReasonInvalidPath,
			"the path must not contain an encoded slash (%2F) or backslash (%5C); resource names go in the path unencoded", nil), http.StatusBadRequest)
		return
	}
	if r.ContentLength > e.maxBody {
		closeAfter(w, r)
		e.refuse(w, r, tooLargeStatus(e.maxBody), http.StatusRequestEntityTooLarge)
		return
	}
	if r.ContentLength != 0 && isURLEncodedForm(r) {
		// curl -d sends this type by default; the API reads every body as
		// JSON, so say so before grpc-gateway's ParseForm would read it as
		// a form and merge it into the parameters.
		r.Header.Set("Content-Type", "application/json")
	}
	if r.ContentLength != 0 && isMultipart(r) {
		closeAfter(w, r)
		e.refuse(w, r, edgeStatus(codes.InvalidArgument, ReasonUnsupportedMediaType,
			"the request body must be JSON (Content-Type: application/json)", nil), http.StatusUnsupportedMediaType)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &cappedBody{ReadCloser: http.MaxBytesReader(w, r.Body, e.maxBody), state: es}
	}
	gw.ServeHTTP(w, r)
}

// closeAfter asks an HTTP/1 client to close the connection after the
// answer: the unread body stays on it. (HTTP/2 resets the stream itself.)
func closeAfter(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
}

// hasEncodedSeparator reports an escaped "/" or "\" in an escaped path.
func hasEncodedSeparator(escaped string) bool {
	lower := strings.ToLower(escaped)
	return strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c")
}

// isURLEncodedForm and isMultipart report the form body types, which
// net/http's ParseForm (called by grpc-gateway for the query) would read
// and merge into the parameters.
func isURLEncodedForm(r *http.Request) bool {
	return mediaType(r) == "application/x-www-form-urlencoded"
}

func isMultipart(r *http.Request) bool { return mediaType(r) == "multipart/form-data" }

func mediaType(r *http.Request) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

// cappedBody is a request body read through http.MaxBytesReader; it notes
// when the limit is hit, so the error handler answers 413, and keeps what
// it read, so the error handler can say what is wrong with a body that
// does not decode.
type cappedBody struct {
	io.ReadCloser
	state *edgeState
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.state.body.Write(p[:n])
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.state.bodyTooLarge = true
	}
	return n, err
}

// authenticate is the grpc-gateway middleware of every route: it
// authenticates the caller before the generated handler parses the query
// and the body, then checks the text grpc-gateway copies unchecked.
func (e *restEdge) authenticate(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		es := stateOf(r.Context())
		if es == nil {
			next(w, r, pathParams)
			return
		}
		if pat, ok := runtime.HTTPPattern(r.Context()); ok {
			es.route = e.routes.lookup(r.Method, pat.String())
			es.request = es.route.request(pathParams)
		}
		who, err := e.authn.Authenticate(r.Context(), httpCredentials(r))
		if err != nil {
			st := service.ToStatus(err)
			if st.Code() == codes.Unauthenticated && (e.authn.Mode() == config.CallerAuthJWT || r.Header.Get("Authorization") != "") {
				w.Header().Set("WWW-Authenticate", `Bearer realm="defender-gateway"`)
			}
			e.refuse(w, r, st, 0)
			return
		}
		es.caller = who
		if st := requestTextStatus(r, pathParams); st != nil {
			e.refuse(w, r, st, http.StatusBadRequest)
			return
		}
		next(w, r, pathParams)
	}
}

// httpCredentials are what a REST request presents, as the gRPC side sees
// them after grpc-gateway forwarded the headers: the credential headers
// under their gRPC metadata names, and the identity of a client
// certificate the listener verified.
func httpCredentials(r *http.Request) callerauth.Credentials {
	md := metadata.MD{}
	for _, k := range []string{caller.HeaderAuthorization, caller.HeaderAPIKey, caller.HeaderAccount} {
		if vs := r.Header.Values(k); len(vs) > 0 {
			md[k] = vs
		}
	}
	creds := callerauth.Credentials{Metadata: md}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
		creds.CertificateIdentity = callerauth.CertificateIdentity(r.TLS.PeerCertificates[0])
	}
	return creds
}

// refuse answers a /v1/ request the HTTP layer refuses itself, and records
// it. httpStatus 0 is the status code's own.
func (e *restEdge) refuse(w http.ResponseWriter, r *http.Request, st *status.Status, httpStatus int) {
	if httpStatus == 0 {
		httpStatus = httpStatusOf(st)
	}
	es := stateOf(r.Context())
	st = statusWithRequestID(st, es.id())
	writeStatus(w, httpStatus, st)
	if e.audit == nil || es == nil {
		return
	}
	rec := audit.Refusal{
		Method:     es.route.method,
		Caller:     es.caller,
		HTTPMethod: safeMethod(r.Method),
		HTTPPath:   r.URL.EscapedPath(),
		HTTPStatus: httpStatus,
		Err:        st.Err(),
		Latency:    time.Since(es.start),
	}
	if es.request != nil {
		rec.Request = es.request
	}
	e.audit.RecordRefusal(r.Context(), rec)
}

// markInvoked is the gateway connection's client interceptor: it notes
// that a REST call reached the gRPC client, so that its errors are known to
// come from there (and its audit record from the gRPC side).
func markInvoked(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if es := stateOf(ctx); es != nil {
		es.invoked = true
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
