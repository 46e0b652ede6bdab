package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/defender-gateway/gateway/internal/app"
)

// TestMainAdminListener runs the whole process (app.Main, sandbox mode)
// with DEFENDER_ADMIN_ADDR: health, metrics and reflection move to the
// admin listener, the API listeners stop serving them, and the healthcheck
// subcommand finds the gateway through --admin-addr and through the
// environment.
func TestMainAdminListener(t *testing.T) {
	grpcAddr, httpAddr, adminAddr := closedAddr(t), closedAddr(t), closedAddr(t)
	env := map[string]string{"DEFENDER_SANDBOX": "true", "DEFENDER_ADMIN_ADDR": adminAddr}
	args := []string{"--grpc-addr", grpcAddr, "--http-addr", httpAddr}

	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() { exit <- app.Main(ctx, args, envOf(env), nil, &stdout, &stderr) }()
	defer func() {
		cancel()
		if code := <-exit; code != 0 {
			t.Errorf("exit code %d after cancel; stderr:\n%s", code, stderr.String())
		}
	}()
	if !eventually(20*time.Second, func() bool {
		return strings.Contains(stdout.String(), "Stop with Ctrl-C.") || len(exit) > 0
	}) {
		t.Fatalf("no banner within 20s; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}

	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	t.Run("http", func(t *testing.T) {
		tests := []struct {
			url      string
			want     int
			contains string
		}{
			{"http://" + adminAddr + "/healthz", http.StatusOK, "ok"},
			{"http://" + adminAddr + "/metrics", http.StatusOK, "grpc_server_"},
			{"http://" + httpAddr + "/metrics", http.StatusNotFound, "ROUTE_NOT_FOUND"},
			{"http://" + httpAddr + "/healthz", http.StatusNotFound, "ROUTE_NOT_FOUND"},
		}
		for _, tt := range tests {
			code, body := get(tt.url)
			if code != tt.want || !strings.Contains(body, tt.contains) {
				t.Errorf("GET %s = %d %.200q, want %d containing %q", tt.url, code, body, tt.want, tt.contains)
			}
		}
	})

	t.Run("reflection", func(t *testing.T) {
		admin, err := grpc.NewClient(adminAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		if services := listServices(t, admin); !contains(services, "defender.v1.IncidentService") {
			t.Errorf("admin reflection lists %q, want the API's services", services)
		}

		api, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer api.Close()
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer rcancel()
		stream, err := reflectionpb.NewServerReflectionClient(api).ServerReflectionInfo(rctx)
		if err == nil {
			_ = stream.Send(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
			})
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("reflection on the API port: %v, want UNIMPLEMENTED", err)
		}
	})

	t.Run("healthcheck", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			env  map[string]string
		}{
			{"flag", []string{"healthcheck", "--admin-addr", adminAddr}, nil},
			{"environment", []string{"healthcheck"}, map[string]string{"DEFENDER_ADMIN_ADDR": adminAddr}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, out, errOut := run(t, tt.args, tt.env)
				if code != 0 || strings.TrimSpace(out) != "SERVING" {
					t.Errorf("healthcheck = %d, stdout %q, stderr %q; want 0 and SERVING", code, out, errOut)
				}
			})
		}
	})
}
