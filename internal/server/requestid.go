package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
)

// RequestIDHeader carries the request id in gRPC metadata and HTTP headers.
const RequestIDHeader = "x-request-id"

// A caller-chosen id is accepted only if it is short and plain, so that it
// cannot inject anything into logs.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

type requestIDKey struct{}

// RequestID returns the id of the call in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func withRequestID(ctx context.Context) context.Context {
	id := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(RequestIDHeader); len(v) > 0 && validRequestID.MatchString(v[0]) {
			id = v[0]
		}
	}
	if id == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	// The call's log line fields are filled in by the interceptors inside.
	return withCallFields(context.WithValue(ctx, requestIDKey{}, id))
}

func unaryRequestID(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	ctx = withRequestID(ctx)
	resp, err := next(ctx, req)
	return resp, stampRequestID(err, RequestID(ctx))
}

func streamRequestID(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	ctx := withRequestID(ss.Context())
	return stampRequestID(next(srv, &contextStream{ServerStream: ss, ctx: ctx}), RequestID(ctx))
}

// errorDomain is the ErrorInfo domain of the gateway's statuses.
const errorDomain = "defender.gateway"

// metaRequestID is the ErrorInfo metadata key of the gateway's request id.
// (The upstream's ids are upstream_request_id and
// upstream_client_request_id; service.ToStatus sets them.)
const metaRequestID = "request_id"

// stampRequestID puts id into the ErrorInfo of an error status, under
// "request_id", so that the id a caller reports from an error body is the
// one on the gateway's log records and in x-request-id. A status without an
// ErrorInfo gets one, with the code's name as its reason. Errors that are
// not statuses pass unchanged.
func stampRequestID(err error, id string) error {
	st, ok := status.FromError(err)
	if err == nil || !ok || st.Code() == codes.OK || id == "" {
		return err
	}
	p := st.Proto()
	stamped := false
	for i, d := range p.GetDetails() {
		info := &errdetails.ErrorInfo{}
		if !d.MessageIs(info) || d.UnmarshalTo(info) != nil {
			continue
		}
		if info.Metadata == nil {
			info.Metadata = map[string]string{}
		}
		info.Metadata[metaRequestID] = id
		if a, err := anypb.New(info); err == nil {
			p.Details[i] = a
			stamped = true
		}
	}
	if !stamped {
		info := &errdetails.ErrorInfo{Reason: code.Code(st.Code()).String(), Domain: errorDomain,
			Metadata: map[string]string{metaRequestID: id}}
		if a, err := anypb.New(info); err == nil {
			p.Details = append(p.Details, a)
		}
	}
	return status.FromProto(p).Err()
}

// contextStream replaces a stream's context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
