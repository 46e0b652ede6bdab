package server

import (
	"context"
	"sync"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Malformed request bytes. grpc-go answers a request its codec cannot
// decode with INTERNAL "grpc: failed to unmarshal the received message: …",
// before any interceptor runs (a unary handler decodes its request before it
// calls the chain), so the call is neither logged nor audited and the caller
// is told the gateway is broken. The server codec below instead remembers
// the failure, keyed by the message it was decoding, and decodes nothing; the
// interceptors turn the remembered failure into INVALID_ARGUMENT
// MALFORMED_REQUEST after authentication, so such a call is logged, counted
// and audited like any other refused call.

// ReasonMalformedRequest is the ErrorInfo reason of a request whose bytes
// are not the method's request message.
const ReasonMalformedRequest = "MALFORMED_REQUEST"

// malformedRequestError is the status of a request that did not decode.
func malformedRequestError() error {
	st := status.New(codes.InvalidArgument, "the request message is not valid protobuf for this method")
	if rich, err := st.WithDetails(
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "request", Description: "not a valid protobuf encoding of the method's request message"}}},
		&errdetails.ErrorInfo{Reason: ReasonMalformedRequest, Domain: "defender.gateway"},
	); err == nil {
		st = rich
	}
	return st.Err()
}

// undecoded holds the messages the codec could not decode, until the
// interceptors pick them up (at the start of the call that owns them).
var undecoded sync.Map // proto.Message pointer → struct{}

// tolerantCodec is grpc's proto codec, except that a decoding failure is
// remembered (and the message left empty) instead of failing the call
// before the interceptors run.
type tolerantCodec struct{ encoding.CodecV2 }

func newTolerantCodec() tolerantCodec { return tolerantCodec{encoding.GetCodecV2("proto")} }

func (c tolerantCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	proto.Reset(m)
	undecoded.Store(m, struct{}{})
	return nil
}

// takeUndecoded reports whether req failed to decode, forgetting it.
func takeUndecoded(req any) bool {
	if req == nil {
		return false
	}
	_, bad := undecoded.LoadAndDelete(req)
	return bad
}

type malformedKey struct{}

// unaryCollectMalformed runs first in the chain: it takes the request off
// the codec's list (so that nothing stays there whatever the chain decides)
// and marks the call's context. unaryRefuseMalformed, after
// authentication, answers the marked call.
func unaryCollectMalformed(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if takeUndecoded(req) {
		ctx = context.WithValue(ctx, malformedKey{}, true)
	}
	return next(ctx, req)
}

func unaryRefuseMalformed(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if bad, _ := ctx.Value(malformedKey{}).(bool); bad {
		return nil, malformedRequestError()
	}
	return next(ctx, req)
}

// streamMalformed makes a stream's RecvMsg fail with INVALID_ARGUMENT for
// a message that did not decode. It runs first in the stream chain, so
// every received message passes it.
func streamMalformed(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	return next(srv, &malformedStream{ss})
}

type malformedStream struct{ grpc.ServerStream }

func (s *malformedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if takeUndecoded(m) {
		return malformedRequestError()
	}
	return nil
}
