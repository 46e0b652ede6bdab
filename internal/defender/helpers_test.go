package defender

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// testToken is the bearer token of every test client; no error may show it.
const testToken = "tok-SECRET-0x5eed-never-log"

var testTokens = TokenSourceFunc(func(context.Context) (string, error) { return testToken, nil })

// recorder records the requests a test server receives.
type recorder struct {
	mu   sync.Mutex
	reqs []recordedRequest
}

type recordedRequest struct {
	Method, Path, RawQuery string
	Query                  map[string][]string
	Header                 http.Header
	Body                   string
}

func (r *recorder) record(req *http.Request) recordedRequest {
	var body strings.Builder
	if req.Body != nil {
		_, _ = io.Copy(&body, req.Body)
	}
	rr := recordedRequest{Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery,
		Query: req.URL.Query(), Header: req.Header.Clone(), Body: body.String()}
	r.mu.Lock()
	r.reqs = append(r.reqs, rr)
	r.mu.Unlock()
	return rr
}

func (r *recorder) all() []recordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedRequest(nil), r.reqs...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// newServer starts an httptest server that records every request before
// handing it to h.
func newServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, rr recordedRequest)) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rr := rec.record(r)
		h(w, r, rr)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newTestGraph(t *testing.T, baseURL string) *Graph {
	t.Helper()
	g, err := NewGraph(ClientOptions{BaseURL: baseURL, HTTPClient: &http.Client{}, Tokens: testTokens})
	if err != nil {
		t.Fatalf("NewGraph: %v", err)
	}
	return g
}

func newTestXDR(t *testing.T, baseURL string) *XDR {
	t.Helper()
	x, err := NewXDR(ClientOptions{BaseURL: baseURL, HTTPClient: &http.Client{}, Tokens: testTokens})
	if err != nil {
		t.Fatalf("NewXDR: %v", err)
	}
	return x
}

// mustError asserts err is an *Error of kind and reason, that its text
// never shows the token, and returns it.
func mustError(t *testing.T, err error, kind ErrorKind, reason string) *Error {
	t.Helper()
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if e.Kind != kind || e.Reason != reason {
		t.Fatalf("error kind/reason = %d/%s, want %d/%s (%v)", e.Kind, e.Reason, kind, reason, e)
	}
	if strings.Contains(e.Error(), testToken) || strings.Contains(e.Message, testToken) {
		t.Fatalf("error text shows the token: %v", e)
	}
	return e
}
