package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/server"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// grpc's internal resolver/balancer serializers and idle keep-alive
		// HTTP connections outlive single tests by design (as in e2e).
		goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("internal/poll.runtime_pollWait"),
	)
}

// fakeIncidents is an IncidentService whose behaviour each test sets. It
// counts the calls that reach it.
type fakeIncidents struct {
	defenderv1.UnimplementedIncidentServiceServer
	list  func(context.Context, *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error)
	get   func(context.Context, *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error)
	calls atomic.Int32
}

func (f *fakeIncidents) ListIncidents(ctx context.Context, r *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
	f.calls.Add(1)
	if f.list != nil {
		return f.list(ctx, r)
	}
	return &defenderv1.ListIncidentsResponse{}, nil
}

func (f *fakeIncidents) GetIncident(ctx context.Context, r *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
	f.calls.Add(1)
	if f.get != nil {
		return f.get(ctx, r)
	}
	return &defenderv1.Incident{Name: r.GetName()}, nil
}

type fakeHunting struct {
	defenderv1.UnimplementedHuntingServiceServer
}

type fakeAuth struct {
	defenderv1.UnimplementedAuthServiceServer
}

// fakeQuota answers GetQuota with the requested name.
type fakeQuota struct {
	defenderv1.UnimplementedQuotaServiceServer
}

type fakeAlerts struct {
	defenderv1.UnimplementedAlertServiceServer
}

func (fakeQuota) GetQuota(_ context.Context, r *defenderv1.GetQuotaRequest) (*defenderv1.Quota, error) {
	return &defenderv1.Quota{Name: r.GetName(), Backend: defenderv1.Backend_BACKEND_XDR}, nil
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a running server.Server with clients for both transports.
type testServer struct {
	srv    *server.Server
	conn   *grpc.ClientConn
	hc     *http.Client
	base   string // http://host:port
	logs   *syncBuffer
	cancel context.CancelFunc
	// served is closed when Serve has returned serveErr.
	served   chan struct{}
	serveErr error
}

// startServer serves inc (and fake hunting/auth services) until the test
// ends; tweak may change the options before New.
func startServer(t *testing.T, inc *fakeIncidents, tweak func(*server.Options)) *testServer {
	t.Helper()
	if inc == nil {
		inc = &fakeIncidents{}
	}
	logs := &syncBuffer{}
	opts := server.Options{
		GRPCAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		Services: server.Services{Incidents: inc, Hunting: &fakeHunting{}, Auth: &fakeAuth{}, Quota: &fakeQuota{}, Alerts: &fakeAlerts{}},
		Logger:   slog.New(server.LogHandler(slog.NewJSONHandler(logs, nil))),
		// Long enough for every drain a test expects to complete.
		ShutdownTimeout: 5 * time.Second,
	}
	if tweak != nil {
		tweak(&opts)
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{
		srv:    srv,
		base:   "http://" + srv.HTTPAddr(),
		logs:   logs,
		cancel: cancel,
		served: make(chan struct{}),
		hc:     &http.Client{Timeout: 10 * time.Second},
	}
	go func() {
		defer close(ts.served)
		ts.serveErr = srv.Serve(ctx)
	}()
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ts.conn = conn
	t.Cleanup(func() {
		conn.Close()
		ts.hc.CloseIdleConnections()
		cancel()
		select {
		case <-ts.served:
			if ts.serveErr != nil {
				t.Errorf("Serve returned %v", ts.serveErr)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of cancel")
		}
	})
	return ts
}

func (ts *testServer) incidents() defenderv1.IncidentServiceClient {
	return defenderv1.NewIncidentServiceClient(ts.conn)
}

// get performs a REST GET with the optional extra headers and returns the
// response and its body.
func (ts *testServer) get(t *testing.T, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, ts.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := ts.hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp, body
}

// restStatus decodes a REST error body, which must be a google.rpc.Status.
func restStatus(t *testing.T, resp *http.Response, body []byte) *status.Status {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	st := &spb.Status{}
	if err := protojson.Unmarshal(body, st); err != nil {
		t.Fatalf("HTTP %d body is not a google.rpc.Status: %v\n%s", resp.StatusCode, err, body)
	}
	return status.FromProto(st)
}

// errorInfo returns the ErrorInfo detail of st, or nil.
func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	return nil
}

// badRequestFields returns the fields of st's BadRequest violations.
func badRequestFields(st *status.Status) []string {
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// logRecords parses the JSON log lines in s.
func logRecords(t *testing.T, s string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, line)
		}
		recs = append(recs, m)
	}
	return recs
}
