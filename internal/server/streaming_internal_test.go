package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// stuckStream is a server stream whose client never reads: SendMsg blocks
// until the stream is released (as grpc's does until the stream resets).
type stuckStream struct {
	grpc.ServerStream
	ctx     context.Context
	release chan struct{}
	sent    int
}

func (s *stuckStream) Context() context.Context { return s.ctx }
func (s *stuckStream) SendMsg(any) error {
	if s.sent < 2 {
		s.sent++
		return nil
	}
	<-s.release
	return errors.New("stream reset")
}

func TestStreamWriteRule(t *testing.T) {
	ss := &stuckStream{ctx: context.Background(), release: make(chan struct{})}
	defer close(ss.release)
	interceptor := streamCallTimeout(CallTimeouts{Default: time.Minute, Hunting: time.Minute, StreamWrite: 50 * time.Millisecond})
	var handlerCtx context.Context
	err := interceptor(nil, ss, &grpc.StreamServerInfo{FullMethod: "/defender.v1.HuntingService/StreamQuery", IsServerStream: true},
		func(_ any, s grpc.ServerStream) error {
			handlerCtx = s.Context()
			for i := 0; ; i++ {
				if err := s.SendMsg(i); err != nil {
					return err
				}
			}
		})
	st := status.Convert(err)
	if st.Code() != codes.DeadlineExceeded || errorInfoOf(st).GetReason() != ReasonStreamWriteTimeout {
		t.Fatalf("a stream whose client stopped reading ended with %v %v, want DEADLINE_EXCEEDED %s", st.Code(), errorInfoOf(st), ReasonStreamWriteTimeout)
	}
	if ss.sent != 2 {
		t.Errorf("%d messages sent before the stall, want 2", ss.sent)
	}
	// The handler's context is cancelled with the status as its cause, so
	// the upstream read behind it stops too.
	if handlerCtx.Err() == nil || status.Code(context.Cause(handlerCtx)) != codes.DeadlineExceeded {
		t.Errorf("handler context: err %v cause %v, want cancelled with the write timeout", handlerCtx.Err(), context.Cause(handlerCtx))
	}
	if _, ok := handlerCtx.Deadline(); !ok {
		t.Error("the stream has no deadline: the call timeout does not apply")
	}
}
