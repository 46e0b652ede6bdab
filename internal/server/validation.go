package server

import (
	"context"
	"errors"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// validationError turns protovalidate's verdict into INVALID_ARGUMENT with
// a message naming each field, a BadRequest detail and an ErrorInfo, the same
// shape the services use for their own field errors.
func validationError(v protovalidate.Validator, req any) error {
	msg, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	err := v.Validate(msg)
	if err == nil {
		return nil
	}
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		// A rule that does not compile is our bug, not the caller's.
		return internalError()
	}
	br := &errdetails.BadRequest{}
	parts := make([]string, 0, len(verr.Violations))
	for _, viol := range verr.Violations {
		field := protovalidate.FieldPathString(viol.Proto.GetField())
		desc := viol.Proto.GetMessage()
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: field, Description: desc})
		parts = append(parts, field+": "+desc)
	}
	st := status.New(codes.InvalidArgument, strings.Join(parts, "; "))
	if withDetails, derr := st.WithDetails(br, &errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: "defender.gateway"}); derr == nil {
		st = withDetails
	}
	return st.Err()
}

func unaryValidate(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if err := validationError(v, req); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func streamValidate(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		return next(srv, &validatingStream{ServerStream: ss, v: v})
	}
}

type validatingStream struct {
	grpc.ServerStream
	v protovalidate.Validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return validationError(s.v, m)
}
