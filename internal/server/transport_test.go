package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/server"
)

// closedWithin reads from c until the server closes it, and returns how
// long that took; it fails the test if the connection is still open after
// limit. Bytes the server sends before closing (an error answer) are read
// and ignored.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection is still open after %s", limit)
	}
	return time.Since(start)
}

// trickle writes s one byte per interval until the connection fails or
// stop is closed.
func trickle(c net.Conn, s string, interval time.Duration, stop <-chan struct{}) {
	for i := range len(s) {
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
	}
}

// TestSlowClientsAreCutOff: a client sending its headers or its body one
// byte every 100ms has its connection closed within the read header
// timeout or the read timeout, instead of holding it for as long as it
// trickles.
func TestSlowClientsAreCutOff(t *testing.T) {
	const readHeader, read = 300 * time.Millisecond, 700 * time.Millisecond
	ts := startServer(t, nil, func(o *server.Options) {
		o.Limits.HTTPReadHeaderTimeout, o.Limits.HTTPReadTimeout = readHeader, read
	})
	body := `{"query":"` + strings.Repeat("x", 200) + `"}`
	tests := []struct {
		name    string
		prefix  string // sent at once
		slow    string // sent one byte per 100ms (20s or more in all)
		atLeast time.Duration
		within  time.Duration
	}{
		{"headers", "GET /openapi.json HTTP/1.1\r\n", strings.Repeat("X-Slow: loris\r\n", 20), readHeader - 50*time.Millisecond, readHeader + time.Second},
		{"body", "POST /v1/tenants/default:runHuntingQuery HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n", body, read - 50*time.Millisecond, read + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ts.srv.HTTPAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			stop := make(chan struct{})
			defer close(stop)
			if _, err := io.WriteString(c, tt.prefix); err != nil {
				t.Fatal(err)
			}
			go trickle(c, tt.slow, 100*time.Millisecond, stop)
			took := closedWithin(t, c, tt.within)
			if took < tt.atLeast {
				t.Errorf("closed after %s, before the timeout (%s)", took, tt.atLeast)
			}
		})
	}
}

// TestIdleKeepAliveConnectionIsClosed: after an answer, a keep-alive
// connection left idle is closed after the idle timeout.
func TestIdleKeepAliveConnectionIsClosed(t *testing.T) {
	const idle = 300 * time.Millisecond
	ts := startServer(t, nil, func(o *server.Options) { o.Limits.HTTPIdleTimeout = idle })
	c, err := net.Dial("tcp", ts.srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /openapi.json HTTP/1.1\r\nHost: gw\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("HTTP %d, close %v; want a kept-alive 200", resp.StatusCode, resp.Close)
	}
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(idle + 2*time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection read: %v, want EOF", err)
	}
	if took := time.Since(start); took < idle-50*time.Millisecond {
		t.Errorf("closed after %s, before the idle timeout %s", took, idle)
	}
}

// TestUnaryWriteDeadline: a REST call whose answer is ready only after the
// write timeout gets no answer (the connection is closed), while one within
// it is answered on the same server.
func TestUnaryWriteDeadline(t *testing.T) {
	const write = 400 * time.Millisecond
	delay := map[string]time.Duration{"1": 0, "2": write + 300*time.Millisecond} // by incident id
	inc := &fakeIncidents{get: func(_ context.Context, r *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
		time.Sleep(delay[strings.TrimPrefix(r.GetName(), "tenants/default/incidents/")])
		return &defenderv1.Incident{Name: r.GetName()}, nil
	}}
	ts := startServer(t, inc, func(o *server.Options) { o.Limits.HTTPWriteTimeout = write })
	if resp, body := ts.get(t, "/v1/tenants/default/incidents/1", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("fast call: HTTP %d %s", resp.StatusCode, body)
	}
	resp, err := ts.hc.Get(ts.base + "/v1/tenants/default/incidents/2")
	if err == nil {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil {
			t.Fatalf("slow call answered HTTP %d %s after the write timeout", resp.StatusCode, body)
		}
	}
	if resp, body := ts.get(t, "/v1/tenants/default/incidents/1", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("fast call after the slow one: HTTP %d %s", resp.StatusCode, body)
	}
}

// TestGRPCMaxRecvMsgSize: a request larger than the limit is refused with
// RESOURCE_EXHAUSTED before it reaches the handler.
func TestGRPCMaxRecvMsgSize(t *testing.T) {
	inc := &fakeIncidents{}
	ts := startServer(t, inc, func(o *server.Options) { o.Limits.GRPCMaxRecvMsgBytes = 8 << 10 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := defenderv1.NewHuntingServiceClient(ts.conn).RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: strings.Repeat("x", 9<<10)})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized request: %v, want RESOURCE_EXHAUSTED", err)
	}
	if _, err := ts.incidents().ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default"}); err != nil {
		t.Errorf("small request: %v", err)
	}
}

// h2Conn is a raw HTTP/2 connection to the gRPC listener, to see the
// server's settings and frames as they are on the wire.
func h2Conn(t *testing.T, addr string) (*http2.Framer, map[http2.SettingID]uint32) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	settings := map[http2.SettingID]uint32{}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read the server's settings: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			_ = sf.ForeachSetting(func(s http2.Setting) error { settings[s.ID] = s.Val; return nil })
			if err := fr.WriteSettingsAck(); err != nil {
				t.Fatal(err)
			}
			return fr, settings
		}
	}
}

// goAway reads frames until a GOAWAY and returns it.
func goAway(t *testing.T, fr *http2.Framer) *http2.GoAwayFrame {
	t.Helper()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			return ga
		}
	}
}

// TestGRPCConnectionLimits: the gRPC listener announces its stream and
// header list limits, answers a client pinging more often than the
// keepalive policy allows with GOAWAY ENHANCE_YOUR_CALM, and closes an
// idle connection with GOAWAY.
func TestGRPCConnectionLimits(t *testing.T) {
	ts := startServer(t, nil, func(o *server.Options) {
		o.Limits.GRPCMaxConcurrentStreams = 7
		o.Limits.GRPCMaxHeaderListBytes = 12 << 10
		o.Limits.GRPCKeepaliveEnforcement = keepalive.EnforcementPolicy{MinTime: time.Minute, PermitWithoutStream: true}
		o.Limits.GRPCKeepalive.MaxConnectionIdle = 500 * time.Millisecond
	})
	t.Run("settings", func(t *testing.T) {
		_, settings := h2Conn(t, ts.srv.GRPCAddr())
		if got := settings[http2.SettingMaxConcurrentStreams]; got != 7 {
			t.Errorf("MAX_CONCURRENT_STREAMS = %d, want 7", got)
		}
		if got := settings[http2.SettingMaxHeaderListSize]; got != 12<<10 {
			t.Errorf("MAX_HEADER_LIST_SIZE = %d, want %d", got, 12<<10)
		}
	})
	t.Run("too many pings", func(t *testing.T) {
		fr, _ := h2Conn(t, ts.srv.GRPCAddr())
		for i := range 4 {
			if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
				break // the server may already have closed
			}
		}
		ga := goAway(t, fr)
		if ga.ErrCode != http2.ErrCodeEnhanceYourCalm || string(ga.DebugData()) != "too_many_pings" {
			t.Errorf("GOAWAY %v %q, want ENHANCE_YOUR_CALM too_many_pings", ga.ErrCode, ga.DebugData())
		}
	})
	t.Run("idle", func(t *testing.T) {
		fr, _ := h2Conn(t, ts.srv.GRPCAddr())
		start := time.Now()
		ga := goAway(t, fr)
		if ga.ErrCode != http2.ErrCodeNo {
			t.Errorf("GOAWAY %v, want NO_ERROR", ga.ErrCode)
		}
		if took := time.Since(start); took < 400*time.Millisecond {
			t.Errorf("GOAWAY after %s, before the idle limit", took)
		}
	})
}
