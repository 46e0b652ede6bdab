package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestUpstreamClientKeepsIdleConnections: after a burst of concurrent
// calls, the next burst reuses the connections (the per-host idle bound),
// where Go's default transport (2 idle per host) dials most of them again.
func TestUpstreamClientKeepsIdleConnections(t *testing.T) {
	const burst = 8
	for _, tc := range []struct {
		name     string
		maxIdle  int
		maxDials int64 // dials over two bursts
		minDials int64
	}{
		{name: "bound at the burst", maxIdle: burst, minDials: burst, maxDials: burst},
		{name: "Go's default of 2", maxIdle: 2, minDials: 2*burst - 2, maxDials: 2 * burst},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dials atomic.Int64
			release := make(chan struct{})
			var inFlight sync.WaitGroup
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inFlight.Done()
				<-release
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					dials.Add(1)
				}
			}
			srv.StartTLS()
			defer srv.Close()
			client, closeIdle := upstreamClient(srv.Client(), 10*time.Second, tc.maxIdle, true)
			defer closeIdle()
			for range 2 {
				// Every call of a burst is in flight at once, so each needs
				// its own connection.
				release = make(chan struct{})
				inFlight.Add(burst)
				var done sync.WaitGroup
				for range burst {
					done.Go(func() {
						resp, err := client.Get(srv.URL)
						if err != nil {
							t.Error(err)
							return
						}
						resp.Body.Close()
					})
				}
				inFlight.Wait()
				close(release)
				done.Wait()
			}
			if n := dials.Load(); n < tc.minDials || n > tc.maxDials {
				t.Errorf("%d connections dialled over two bursts of %d; want %d to %d", n, burst, tc.minDials, tc.maxDials)
			}
		})
	}
}

// TestUpstreamClientRefusesRedirects: a redirect would carry the bearer
// token to another host.
func TestUpstreamClientRefusesRedirects(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("http://example.invalid/", http.StatusFound))
	defer srv.Close()
	client, closeIdle := upstreamClient(srv.Client(), 10*time.Second, 4, false)
	defer closeIdle()
	resp, err := client.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a redirect was followed")
	}
}

// TestUpstreamClientKeepsAnotherRoundTripper: a base client whose
// transport is not an *http.Transport is used as it is.
func TestUpstreamClientKeepsAnotherRoundTripper(t *testing.T) {
	var called atomic.Bool
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		called.Store(true)
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
	})
	client, closeIdle := upstreamClient(&http.Client{Transport: rt}, time.Second, 4, true)
	defer closeIdle()
	resp, err := client.Get("https://upstream.invalid/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !called.Load() {
		t.Error("the base round tripper was not used")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestUpstreamClientTracesOnlyWhenAsked: with tracing on, an upstream
// request carries the call's trace context; with it off the client does
// no tracing work and sends no trace header.
func TestUpstreamClientTracesOnlyWhenAsked(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{}) // as telemetry.StartTracing does
	defer otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	traceID, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	spanID, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	for _, tc := range []struct {
		traced bool
		want   string // in traceparent
	}{{true, traceID.String()}, {false, ""}} {
		var got atomic.Value
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.Store(r.Header.Get("traceparent"))
		}))
		client, closeIdle := upstreamClient(srv.Client(), 10*time.Second, 4, tc.traced)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		closeIdle()
		srv.Close()
		header, _ := got.Load().(string)
		if (tc.want == "") != (header == "") || !strings.Contains(header, tc.want) {
			t.Errorf("traced %v: traceparent %q; want one holding %q", tc.traced, header, tc.want)
		}
	}
}

// BenchmarkUpstreamClient is one upstream round trip over a kept-alive
// loopback connection, with the client traced and not (tracing off):
//
//	go test -run '^$' -bench UpstreamClient -benchmem -cpu 1 ./internal/app/
func BenchmarkUpstreamClient(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"id":"1000"}`))
	}))
	defer srv.Close()
	for _, traced := range []bool{true, false} {
		name := "untraced"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			client, closeIdle := upstreamClient(srv.Client(), 10*time.Second, 4, traced)
			defer closeIdle()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(srv.URL + "/v1.0/security/incidents/1000?$expand=alerts")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
