package server

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStreamingWriteRule: a route declared streaming may run far longer
// than the unary bound as long as its client reads; a client that stops
// reading is cut off after the per-message bound; a unary route on the
// same server keeps the unary bound.
func TestStreamingWriteRule(t *testing.T) {
	const unary, perMessage = 200 * time.Millisecond, 300 * time.Millisecond
	rules := routeWriteRules(unary, map[string]time.Duration{"GET /stream/{size}": perMessage})
	writeErr := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream/{size}", func(w http.ResponseWriter, r *http.Request) {
		msg := []byte(strings.Repeat("m", 1<<10) + "\n")
		if r.PathValue("size") == "big" {
			msg = []byte(strings.Repeat("m", 1<<20) + "\n")
		}
		var err error
		for range 8 {
			if _, err = w.Write(msg); err != nil {
				break
			}
			w.(http.Flusher).Flush() // grpc-gateway's streaming forwarder needs a Flusher
			time.Sleep(100 * time.Millisecond)
		}
		writeErr <- err
	})
	mux.HandleFunc("GET /unary", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(unary + 200*time.Millisecond)
		_, _ = w.Write([]byte("late\n"))
	})
	srv := httptest.NewServer(withWriteDeadlines(mux, rules))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	get := func(path string) *http.Response {
		t.Helper()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp
	}
	// 8 messages 100ms apart: 800ms in all, beyond the unary bound.
	resp := get("/stream/small")
	n := 0
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); n++ {
	}
	resp.Body.Close()
	if err := <-writeErr; n != 8 || err != nil {
		t.Errorf("steady stream: %d messages, write error %v; want all 8", n, err)
	}

	// 8 MiB to a client that reads nothing for 1.5s: more than the socket
	// buffers hold, so a write blocks past the per-message bound.
	resp = get("/stream/big")
	time.Sleep(1500 * time.Millisecond)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := <-writeErr; err == nil {
		t.Error("a stream to a client that stopped reading was not cut off")
	}

	if resp, err := client.Get(srv.URL + "/unary"); err == nil {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("unary route answered %q after its deadline", body)
		}
	}
}

// TestIsWatchRoute: both watch routes, and nothing else, get the streaming
// write-timeout rule.
func TestIsWatchRoute(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{http.MethodGet, "/v1/tenants/default/incidents:watch", true},
		{http.MethodGet, "/v1/tenants/default/alerts:watch", true},
		{http.MethodGet, "/v1/tenants/-/incidents:watch", true},
		{http.MethodPost, "/v1/tenants/default/alerts:watch", false},
		{http.MethodGet, "/v1/tenants/default/alerts", false},
		{http.MethodGet, "/v1/tenants/default/alerts/watch", false},
	} {
		if got := isWatchRoute(httptest.NewRequest(tc.method, tc.path, nil)); got != tc.want {
			t.Errorf("isWatchRoute(%s %s) = %t, want %t", tc.method, tc.path, got, tc.want)
		}
	}
}
