package emulator

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The API names used in Request.API and Fault.API.
const (
	APIEntra = "entra"
	APIGraph = "graph"
	APIXDR   = "xdr"
)

// Request is one request any of the emulator's servers received.
type Request struct {
	// API is APIEntra, APIGraph or APIXDR.
	API                    string
	Method, Path, RawQuery string
	// Status is the response status; 0 when no response was written (the
	// connection was reset by a fault or the client gave up during a delay).
	Status int
	// TenantID is the token's tid for Graph and XDR (empty when no valid
	// token was presented) and, for Entra, the tenant in the path (resolved
	// to its ID when known).
	TenantID string
	// Time is when the request arrived, by Options.Now.
	Time time.Time
}

// requestLog records requests. It is safe for concurrent use.
type requestLog struct {
	mu       sync.Mutex
	requests []Request
	// incidentLists counts the requests for which IsIncidentList holds.
	incidentLists int64
}

func (l *requestLog) add(r Request) {
	list := IsIncidentList(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, r)
	if list {
		l.incidentLists++
	}
}

func (l *requestLog) incidentListCount() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.incidentLists
}

func (l *requestLog) snapshot() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.requests)
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = nil
	l.incidentLists = 0
}

// isTokenRequest reports whether r is a POST to an Entra token endpoint.
func isTokenRequest(r Request) bool {
	return r.API == APIEntra && r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/oauth2/v2.0/token")
}

type requestKey struct{}

// setRequestTenant records the tenant of the request being served; the
// token middleware calls it once the token is verified.
func setRequestTenant(ctx context.Context, tenantID string) {
	if rec, ok := ctx.Value(requestKey{}).(*Request); ok {
		rec.TenantID = tenantID
	}
}

// recordRequests wraps next so that every request is added to log once it
// is answered: when its status goes out (before the body, so a client that
// has read the answer always finds the request logged), or when the
// handler returns without writing.
func (e *Emulator) recordRequests(api string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &Request{
			API:      api,
			Method:   r.Method,
			Path:     r.URL.Path,
			RawQuery: r.URL.RawQuery,
			Time:     e.now(),
		}
		sw := &statusWriter{ResponseWriter: w, onAnswer: func(status int) {
			rec.Status = status
			e.requests.add(*rec)
			e.logger.Debug("emulator request", "api", api, "method", rec.Method, "path", rec.Path, "status", rec.Status, "tenant", rec.TenantID)
		}}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestKey{}, rec)))
		sw.answer(0)
	})
}

// statusWriter calls onAnswer once, with the status, when the answer's
// status is written (explicitly or by the first Write). Unwrap lets
// http.ResponseController reach the connection (for Flush and Hijack).
type statusWriter struct {
	http.ResponseWriter
	onAnswer func(status int)
	answered bool
}

func (w *statusWriter) answer(status int) {
	if !w.answered {
		w.answered = true
		w.onAnswer(status)
	}
}

func (w *statusWriter) WriteHeader(status int) {
	if status >= http.StatusOK { // 1xx are not the answer
		w.answer(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.answer(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
