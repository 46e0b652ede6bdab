package server_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/server"
)

// listServices asks conn's reflection service for its service list.
func listServices(ctx context.Context, conn *grpc.ClientConn) ([]string, error) {
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = stream.CloseSend() }()
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}); err != nil && err != io.EOF {
		return nil, err
	}
	// A Send that meets a stream the server already ended returns io.EOF
	// (grpc-go's contract); the stream's status is what Recv returns then.
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}

// TestAdminListener: with an admin address, /healthz, /metrics, gRPC health
// and reflection (listing the API too) are served there, in plaintext, and
// no longer on the API listeners, which keep the API and /openapi.json. A
// health watch open on the admin port does not hold up the shutdown.
func TestAdminListener(t *testing.T) {
	ts := startServer(t, nil, func(o *server.Options) { o.AdminAddr = "127.0.0.1:0" })
	admin := ts.srv.AdminAddr()
	if admin == "" || admin == ts.srv.HTTPAddr() || admin == ts.srv.GRPCAddr() {
		t.Fatalf("admin address %q", admin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	httpGet := func(url string) (int, string) {
		t.Helper()
		resp, err := ts.hc.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := httpGet("http://" + admin + "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("admin /healthz = %d %q", code, body)
	}
	if code, body := httpGet("http://" + admin + "/metrics"); code != http.StatusOK || !strings.Contains(body, "grpc_server_handled_total") {
		t.Errorf("admin /metrics = %d without the gRPC metrics", code)
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		if code, _ := httpGet(ts.base + path); code != http.StatusNotFound {
			t.Errorf("API listener %s = %d, want 404", path, code)
		}
	}
	if code, _ := httpGet(ts.base + "/openapi.json"); code != http.StatusOK {
		t.Errorf("API listener /openapi.json = %d, want 200", code)
	}

	adminConn, err := grpc.NewClient(admin, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer adminConn.Close()
	for _, svc := range append([]string{"", "grpc.health.v1.Health"}, defenderServices...) {
		resp, err := healthpb.NewHealthClient(adminConn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("admin health Check(%q) = %v, %v; want SERVING", svc, resp.GetStatus(), err)
		}
	}
	names, err := listServices(ctx, adminConn)
	if err != nil {
		t.Fatalf("admin reflection: %v", err)
	}
	for _, want := range append(slices.Clone(defenderServices), "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection") {
		if !slices.Contains(names, want) {
			t.Errorf("admin reflection lists %q, want %s among them", names, want)
		}
	}

	if _, err := healthpb.NewHealthClient(ts.conn).Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("API listener health = %v, want UNIMPLEMENTED", err)
	}
	if _, err := listServices(ctx, ts.conn); status.Code(err) != codes.Unimplemented {
		t.Errorf("API listener reflection = %v, want UNIMPLEMENTED", err)
	}
	if _, err := ts.incidents().ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default"}); err != nil {
		t.Errorf("API call: %v", err)
	}

	// A watch left open: the shutdown (in the cleanup) must end it.
	watch, err := healthpb.NewHealthClient(adminConn).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("admin health watch: %v, %v", resp.GetStatus(), err)
	}
	ts.cancel()
	select {
	case <-ts.served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5s with a health watch open on the admin listener")
	}
}
