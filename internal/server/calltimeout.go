package server

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// CallTimeouts are the deadlines the server gives an API call: Default for
// every method, Hunting for HuntingService's (whose queries run up to 3
// minutes upstream), Watch for WatchIncidents and WatchAlerts. StreamWrite is the longest one message of a stream
// may wait on its client (streaming.go). Zero fields take config's
// defaults.
type CallTimeouts struct {
	Default, Hunting time.Duration
	StreamWrite      time.Duration
	// Watch bounds WatchIncidents and WatchAlerts, which its handler ends by
	// DEFENDER_WATCH_MAX_DURATION; 0 leaves it to the handler.
	Watch time.Duration
}

// huntingPrefix is the full-method prefix of HuntingService's methods.
var huntingPrefix = "/" + defenderv1.HuntingService_ServiceDesc.ServiceName + "/"

// timeoutOf is the deadline of a call of fullMethod.
func (t CallTimeouts) timeoutOf(fullMethod string) time.Duration {
	if fullMethod == defenderv1.IncidentService_WatchIncidents_FullMethodName || fullMethod == defenderv1.AlertService_WatchAlerts_FullMethodName {
		return t.Watch
	}
	if strings.HasPrefix(fullMethod, huntingPrefix) {
		return t.Hunting
	}
	return t.Default
}

// unaryCallTimeout bounds every call by its method's timeout: a call whose
// caller set no deadline gets one, a caller's shorter deadline wins, and a
// longer one is capped (the gateway's retries, its quota waits and the
// upstream request all fit inside the call's deadline, so a capped call
// cannot hold the upstream longer than configured).
func unaryCallTimeout(t CallTimeouts) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if d := t.timeoutOf(info.FullMethod); d > 0 {
			// WithTimeout keeps the parent's deadline when it is sooner.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return handler(ctx, req)
	}
}
