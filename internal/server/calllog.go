package server

import (
	"context"
	"sync"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"

	"github.com/defender-gateway/gateway/internal/telemetry"
)

// callFields are what the inner interceptors learn about a call for its one
// log line, which the logging interceptor (outside them) writes when the
// call ends: the caller identity (authentication) and the tenant the
// request names (authorization). The request id interceptor puts an empty
// one in the call's context.
type callFields struct {
	mu             sync.Mutex
	caller, tenant string
}

type callFieldsKey struct{}

func withCallFields(ctx context.Context) context.Context {
	return context.WithValue(ctx, callFieldsKey{}, &callFields{})
}

func callFieldsOf(ctx context.Context) *callFields {
	f, _ := ctx.Value(callFieldsKey{}).(*callFields)
	return f
}

// setLogCaller names the call's caller on its log line.
func setLogCaller(ctx context.Context, name string) {
	if f := callFieldsOf(ctx); f != nil {
		f.mu.Lock()
		f.caller = name
		f.mu.Unlock()
	}
}

// setLogTenant names the tenant of the call's request on its log line.
func setLogTenant(ctx context.Context, tenant string) {
	if f := callFieldsOf(ctx); f != nil {
		f.mu.Lock()
		f.tenant = tenant
		f.mu.Unlock()
	}
}

// logFields are the gateway's fields of a call's log line, caller and
// tenant once known (the logging interceptor adds the method, code and
// latency, LogHandler the request id and trace id).
func logFields(ctx context.Context) logging.Fields {
	var fields logging.Fields
	if f := callFieldsOf(ctx); f != nil {
		f.mu.Lock()
		caller, tenant := f.caller, f.tenant
		f.mu.Unlock()
		if caller != "" {
			fields = append(fields, "caller", caller)
		}
		if tenant != "" {
			fields = append(fields, "tenant", tenant)
		}
	}
	return fields
}

// streamActive counts the server-streaming calls in progress by method
// (defender_gateway_active_streams).
func streamActive(m *telemetry.Metrics) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		if m == nil || !info.IsServerStream {
			return next(srv, ss)
		}
		m.StreamStarted(info.FullMethod)
		defer m.StreamEnded(info.FullMethod)
		return next(srv, ss)
	}
}
