package server

import (
	"net/http"
	"strings"
	"time"
)

// The HTTP servers have no global WriteTimeout: it would cut off a
// streaming response after the unary bound. Instead each request gets a
// write deadline by the rule of its route:
//
//   - a unary route must have written its whole answer
//     within the unary timeout, counted from the start of the request, so
//     the deadline bounds the call and the answer together;
//   - a streaming route (a server-streaming method, NDJSON over REST:
//     StreamQuery, WatchIncidents) has a per-message bound, DEFENDER_STREAM_WRITE_TIMEOUT: its deadline moves
//     that far ahead of every write and flush, so a stream may run as long
//     as it keeps sending, and a client that stops reading for longer than
//     that (a write blocked on it) is cut off.
//
// The rule is set at the start of every request, also clearing what an
// earlier request left on a keep-alive connection.

// writeRule is the write deadline rule of one route.
type writeRule struct {
	// total, when positive, is the deadline of the whole response from the
	// start of the request.
	total time.Duration
	// perWrite, when positive, moves the deadline this far ahead of each
	// write and flush.
	perWrite time.Duration
}

// streamingRoutes are the REST routes that stream their response, as
// http.ServeMux patterns, with the longest time one message may take to
// write. The streaming hunting route is matched by isStreamingHuntingRoute
// (its path ends in a custom verb, which ServeMux patterns cannot name).
var streamingRoutes = map[string]time.Duration{}

// writeRules picks the rule of a request.
type writeRules func(*http.Request) writeRule

// apiWriteRules are the API listener's rules: the unary timeout unless the
// route streams (streamWrite per write), and for the unary hunting route
// (whose call may run DEFENDER_HUNTING_CALL_TIMEOUT) the longer of unary
// and hunting.
func apiWriteRules(unary, hunting, streamWrite time.Duration) writeRules {
	rules := routeWriteRules(unary, streamingRoutes)
	return func(r *http.Request) writeRule {
		switch {
		case isStreamingHuntingRoute(r), isWatchRoute(r):
			return writeRule{perWrite: streamWrite}
		case hunting > unary && isHuntingRoute(r):
			return writeRule{total: hunting}
		}
		return rules(r)
	}
}

// huntingWriteMargin is how much longer than the hunting call timeout the
// REST hunting route may take to write its answer (a result of up to
// 50 MB included).
const huntingWriteMargin = 30 * time.Second

// isHuntingRoute reports the REST route of HuntingService.RunQuery,
// POST /v1/{tenant=tenants/*}:runHuntingQuery.
func isHuntingRoute(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, ":runHuntingQuery")
}

// isStreamingHuntingRoute reports the REST route of
// HuntingService.StreamQuery, POST /v1/{tenant=tenants/*}:streamHuntingQuery.
func isStreamingHuntingRoute(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, ":streamHuntingQuery")
}

// isWatchRoute reports the REST routes of IncidentService.WatchIncidents,
// GET /v1/{parent=tenants/*}/incidents:watch, and AlertService.WatchAlerts,
// GET /v1/{parent=tenants/*}/alerts:watch.
func isWatchRoute(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		(strings.HasSuffix(r.URL.Path, "/incidents:watch") || strings.HasSuffix(r.URL.Path, "/alerts:watch"))
}

// streamRoute marks a streaming route in routeWriteRules' mux.
type streamRoute time.Duration

func (streamRoute) ServeHTTP(http.ResponseWriter, *http.Request) {}

func routeWriteRules(unary time.Duration, streams map[string]time.Duration) writeRules {
	if len(streams) == 0 {
		return func(*http.Request) writeRule { return writeRule{total: unary} }
	}
	mux := http.NewServeMux()
	for pattern, perWrite := range streams {
		mux.Handle(pattern, streamRoute(perWrite))
	}
	return func(r *http.Request) writeRule {
		if h, pattern := mux.Handler(r); pattern != "" {
			if d, ok := h.(streamRoute); ok {
				return writeRule{perWrite: time.Duration(d)}
			}
		}
		return writeRule{total: unary}
	}
}

// withWriteDeadlines sets each request's write deadline by rules. It must
// wrap the server's handler directly (the ResponseWriter is the server's).
func withWriteDeadlines(next http.Handler, rules writeRules) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rule := rules(r)
		rc := http.NewResponseController(w)
		switch {
		case rule.perWrite > 0:
			_ = rc.SetWriteDeadline(time.Now().Add(rule.perWrite))
			w = &streamingWriter{ResponseWriter: w, rc: rc, perWrite: rule.perWrite}
		case rule.total > 0:
			_ = rc.SetWriteDeadline(time.Now().Add(rule.total))
		default:
			_ = rc.SetWriteDeadline(time.Time{})
		}
		next.ServeHTTP(w, r)
	})
}

// streamingWriter moves the write deadline ahead of each write and flush.
// It is an http.Flusher itself, as grpc-gateway's streaming forwarder
// requires, and unwraps for http.ResponseController.
type streamingWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	perWrite time.Duration
}

func (s *streamingWriter) Write(p []byte) (int, error) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.perWrite))
	return s.ResponseWriter.Write(p)
}

func (s *streamingWriter) Flush() {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.perWrite))
	_ = s.rc.Flush()
}

func (s *streamingWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
