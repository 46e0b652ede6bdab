package server

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// ReasonStreamWriteTimeout ends a stream whose client stopped reading for
// longer than DEFENDER_STREAM_WRITE_TIMEOUT.
const ReasonStreamWriteTimeout = "STREAM_WRITE_TIMEOUT"

// streamCallTimeout is unaryCallTimeout for streams, plus the streaming
// write rule: each message the handler sends must be taken by the client
// (HTTP/2 flow control) within t.StreamWrite, else the stream's context is
// cancelled with a DEADLINE_EXCEEDED STREAM_WRITE_TIMEOUT cause, which stops
// the upstream read, and the handler's send returns that status. A stream
// may run as long as it keeps moving, within its call timeout.
func streamCallTimeout(t CallTimeouts) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		if d := t.timeoutOf(info.FullMethod); d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		return handler(srv, &boundedStream{ServerStream: ss, ctx: ctx, cancel: cancel, perSend: t.StreamWrite})
	}
}

// boundedStream gives the handler the bounded context and sends each
// message under the write rule.
type boundedStream struct {
	grpc.ServerStream
	ctx     context.Context
	cancel  context.CancelCauseFunc
	perSend time.Duration
}

func (s *boundedStream) Context() context.Context { return s.ctx }

// SendMsg sends m, giving up after perSend: grpc's SendMsg blocks while the
// client's flow-control window is full and watches only the transport's
// context, so it runs in its own goroutine here. When it is given up, the
// handler returns, the stream is reset, and the blocked send returns.
func (s *boundedStream) SendMsg(m any) error {
	if s.perSend <= 0 {
		return s.ServerStream.SendMsg(m)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServerStream.SendMsg(m) }()
	timer := time.NewTimer(s.perSend)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		err := edgeStatus(codes.DeadlineExceeded, ReasonStreamWriteTimeout,
			fmt.Sprintf("the client did not read the stream for %s: the stream is ended", s.perSend),
			map[string]string{"stream_write_timeout": s.perSend.String()}).Err()
		s.cancel(err)
		return err
	case <-s.ctx.Done():
		return context.Cause(s.ctx)
	}
}
