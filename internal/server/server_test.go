package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/server"
)

var defenderServices = []string{
	"defender.v1.IncidentService",
	"defender.v1.HuntingService",
	"defender.v1.AuthService",
	"defender.v1.QuotaService",
	"defender.v1.AlertService",
}

// TestReflection: server reflection lists the API, health and reflection
// services and resolves the API's symbols.
func TestReflection(t *testing.T) {
	ts := startServer(t, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.CloseSend() }()

	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range append(slices.Clone(defenderServices), "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection") {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %q, want %s among them", names, want)
		}
	}

	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "defender.v1.IncidentService"},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Errorf("no file descriptor for defender.v1.IncidentService: %v", resp)
	}
}

// TestHealth: the health service reports SERVING for the server and each
// registered service, and NOT_FOUND for an unknown one.
func TestHealth(t *testing.T) {
	ts := startServer(t, nil, nil)
	hc := healthpb.NewHealthClient(ts.conn)
	for _, svc := range append([]string{"", "grpc.health.v1.Health"}, defenderServices...) {
		t.Run("service="+svc, func(t *testing.T) {
			resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("Check(%q) = %v, %v; want SERVING", svc, resp.GetStatus(), err)
			}
		})
	}
	t.Run("unknown service", func(t *testing.T) {
		_, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "defender.v1.Nope"})
		if status.Code(err) != codes.NotFound {
			t.Errorf("Check(unknown) = %v, want NOT_FOUND", err)
		}
	})
}

// slowIncidents is a ListIncidents that signals when it starts and answers
// only when released (or, if honourCtx, when its context ends).
func slowIncidents(honourCtx bool) (inc *fakeIncidents, entered <-chan struct{}, release chan struct{}) {
	in := make(chan struct{})
	release = make(chan struct{})
	var once sync.Once
	inc = &fakeIncidents{
		list: func(ctx context.Context, _ *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
			once.Do(func() { close(in) })
			if honourCtx {
				select {
				case <-release:
				case <-ctx.Done():
					return nil, status.FromContextError(ctx.Err()).Err()
				}
			} else {
				<-release
			}
			return &defenderv1.ListIncidentsResponse{NextPageToken: "drained"}, nil
		},
	}
	return inc, in, release
}

// slowCall starts one ListIncidents over transport ("grpc" or "rest") and
// returns a channel with its outcome: nil when it completed with the slow
// handler's answer.
func slowCall(t *testing.T, ts *testServer, transport string) <-chan error {
	t.Helper()
	out := make(chan error, 1)
	go func() {
		switch transport {
		case "grpc":
			resp, err := ts.incidents().ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/default"})
			if err == nil && resp.GetNextPageToken() != "drained" {
				err = status.Errorf(codes.Unknown, "unexpected answer %v", resp)
			}
			out <- err
		case "rest":
			resp, err := ts.hc.Get(ts.base + "/v1/tenants/default/incidents")
			if err != nil {
				out <- err
				return
			}
			defer resp.Body.Close()
			body := new(strings.Builder)
			_, _ = io.Copy(body, resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), "drained") {
				out <- status.Errorf(codes.Unknown, "HTTP %d %s", resp.StatusCode, body)
				return
			}
			out <- nil
		}
	}()
	return out
}

// TestGracefulShutdown: on cancel, health turns NOT_SERVING, an in-flight
// call (gRPC or REST) still completes, new connections are refused, and
// Serve returns nil only after the call.
func TestGracefulShutdown(t *testing.T) {
	for _, transport := range []string{"grpc", "rest"} {
		t.Run(transport, func(t *testing.T) {
			inc, entered, release := slowIncidents(false)
			ts := startServer(t, inc, nil)
			var releaseOnce sync.Once
			releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
			t.Cleanup(releaseAll)

			// Watch health from before the shutdown.
			wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer wcancel()
			watch, err := healthpb.NewHealthClient(ts.conn).Watch(wctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("health before shutdown: %v, %v; want SERVING", resp.GetStatus(), err)
			}

			result := slowCall(t, ts, transport)
			select {
			case <-entered:
			case <-time.After(5 * time.Second):
				t.Fatal("the slow call never reached the handler")
			}
			ts.cancel()

			if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Fatalf("health during the drain: %v, %v; want NOT_SERVING", resp.GetStatus(), err)
			}
			// End the watch: it is an in-flight call too.
			wcancel()

			// New connections are refused once the drain has begun.
			addr := ts.srv.HTTPAddr()
			if transport == "grpc" {
				addr = ts.srv.GRPCAddr()
			}
			if !eventually(3*time.Second, func() bool {
				c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
				if err != nil {
					return true
				}
				c.Close()
				return false
			}) {
				t.Errorf("%s still accepts connections during the drain", addr)
			}

			select {
			case <-ts.served:
				t.Fatalf("Serve returned (%v) while a call was in flight", ts.serveErr)
			case err := <-result:
				t.Fatalf("the in-flight call ended (%v) before it was released", err)
			default:
			}

			releaseAll()
			select {
			case err := <-result:
				if err != nil {
					t.Errorf("in-flight call: %v, want its normal answer", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the in-flight call did not complete")
			}
			select {
			case <-ts.served:
				if ts.serveErr != nil {
					t.Errorf("Serve = %v, want nil", ts.serveErr)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("Serve did not return after the drain")
			}
		})
	}
}

// TestShutdownTimeout: a call that outlives ShutdownTimeout is cut off and
// Serve returns soon after the timeout, never before it: whether the
// handler notices its context ending or not.
func TestShutdownTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name      string
		transport string
		honourCtx bool
	}{
		{"grpc handler honours ctx", "grpc", true},
		{"rest handler honours ctx", "rest", true},
		{"grpc handler ignores ctx", "grpc", false},
		{"rest handler ignores ctx", "rest", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc, entered, release := slowIncidents(tt.honourCtx)
			ts := startServer(t, inc, func(o *server.Options) { o.ShutdownTimeout = timeout })
			// Registered after startServer, so it runs first: a handler
			// that ignores its context is let go before the server's cleanup
			// waits for Serve.
			t.Cleanup(func() { close(release) })

			result := slowCall(t, ts, tt.transport)
			select {
			case <-entered:
			case <-time.After(5 * time.Second):
				t.Fatal("the slow call never reached the handler")
			}
			start := time.Now()
			ts.cancel()

			select {
			case <-ts.served:
				took := time.Since(start)
				if ts.serveErr != nil {
					t.Errorf("Serve = %v, want nil", ts.serveErr)
				}
				if took < timeout-50*time.Millisecond {
					t.Errorf("Serve returned after %v, before the %v drain", took, timeout)
				}
				t.Logf("Serve returned %v after cancel", took)
			case <-time.After(timeout + 3*time.Second):
				t.Fatalf("Serve has not returned %v after cancel (ShutdownTimeout %v)", timeout+3*time.Second, timeout)
			}
			select {
			case err := <-result:
				if err == nil {
					t.Error("the cut-off call succeeded")
				}
			case <-time.After(3 * time.Second):
				t.Error("the cut-off call's caller got no answer")
			}
		})
	}
}

// eventually polls cond every 20ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNewListenErrors: an occupied port fails New with an error naming the
// address, and New releases what it had bound.
func TestNewListenErrors(t *testing.T) {
	occupied, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer occupied.Close()
	busy := occupied.Addr().String()

	tests := []struct {
		name               string
		grpcAddr, httpAddr string
		wantInError        []string
	}{
		{"grpc port taken", busy, "127.0.0.1:0", []string{"gRPC", busy}},
		{"http port taken", "", busy, []string{"HTTP", busy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grpcAddr := tt.grpcAddr
			if grpcAddr == "" {
				grpcAddr = freeAddr(t)
			}
			_, err := server.New(server.Options{
				GRPCAddr: grpcAddr,
				HTTPAddr: tt.httpAddr,
				Services: server.Services{Incidents: &fakeIncidents{}, Hunting: &fakeHunting{}, Auth: &fakeAuth{}, Quota: &fakeQuota{}, Alerts: &fakeAlerts{}},
			})
			if err == nil {
				t.Fatal("New succeeded on an occupied port")
			}
			for _, want := range tt.wantInError {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
			if grpcAddr != busy {
				// The gRPC listener New opened before failing is closed.
				l, err := net.Listen("tcp", grpcAddr)
				if err != nil {
					t.Errorf("the gRPC address %s is still bound after New failed: %v", grpcAddr, err)
				} else {
					l.Close()
				}
			}
		})
	}

	t.Run("missing service", func(t *testing.T) {
		_, err := server.New(server.Options{
			GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
			Services: server.Services{Incidents: &fakeIncidents{}, Auth: &fakeAuth{}, Quota: &fakeQuota{}, Alerts: &fakeAlerts{}},
		})
		if err == nil {
			t.Error("New succeeded without a hunting service")
		}
	})
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
