package audit

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/caller"
)

// maxRecordedPath bounds the request path kept in a refusal record.
const maxRecordedPath = 256

// Refusal is a REST request that the HTTP layer answered itself, before it
// became a gRPC call (which the interceptors would record): an oversized
// body, a malformed path, an unknown route or method, a failed
// authentication, a query or body that does not parse.
type Refusal struct {
	// Method is the gRPC method of the matched route, or "" when none
	// matched (or the request was refused before routing).
	Method string
	// Request is the method's request message as far as the path filled
	// it (for the resource and tenant), or nil.
	Request any
	// Caller is the authenticated caller, or nil.
	Caller *caller.Request
	// HTTPMethod and HTTPPath are the request's method and escaped path
	// (cut to 256 bytes); HTTPStatus is the answer's status code.
	HTTPMethod, HTTPPath string
	HTTPStatus           int
	// Err is the status error answered.
	Err     error
	Latency time.Duration
}

// RecordRefusal writes the record of a refused REST request: the fields of
// a call record (method, operation and resource when the route is known)
// plus http_method, http_path and http_status. ctx carries the request id.
func (l *Logger) RecordRefusal(ctx context.Context, r Refusal) {
	path := strings.ToValidUTF8(r.HTTPPath, "\uFFFD")
	if len(path) > maxRecordedPath {
		path = strings.ToValidUTF8(path[:maxRecordedPath], "") + "…"
	}
	l.record(ctx, r.Caller, r.Method, r.Request, r.Err, r.Latency,
		slog.String("http_method", r.HTTPMethod),
		slog.String("http_path", path),
		slog.Int("http_status", r.HTTPStatus),
	)
}
