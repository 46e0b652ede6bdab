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

	startMain(t, args, env)

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
			// Profiles are served only with DEFENDER_PPROF (TestMainPprof).
			{"http://" + adminAddr + "/debug/pprof/", http.StatusNotFound, ""},
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

// startMain runs app.Main with args and env until the test ends, once it
// printed its banner.
func startMain(t *testing.T, args []string, env map[string]string) {
	t.Helper()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() { exit <- app.Main(ctx, args, envOf(env), nil, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-exit; code != 0 {
			t.Errorf("exit code %d after cancel; stderr:\n%s", code, stderr.String())
		}
	})
	if !eventually(20*time.Second, func() bool {
		return strings.Contains(stdout.String(), "Stop with Ctrl-C.") || len(exit) > 0
	}) {
		t.Fatalf("no banner within 20s; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

// TestMainPprof: with DEFENDER_PPROF the admin listener serves Go's
// profiles (a CPU profile of the asked length, gzipped protobuf), refuses
// a length its write deadline cannot cover, and the API listener still
// serves none of them.
func TestMainPprof(t *testing.T) {
	grpcAddr, httpAddr, adminAddr := closedAddr(t), closedAddr(t), closedAddr(t)
	startMain(t, []string{"--grpc-addr", grpcAddr, "--http-addr", httpAddr},
		map[string]string{"DEFENDER_SANDBOX": "true", "DEFENDER_ADMIN_ADDR": adminAddr, "DEFENDER_PPROF": "true"})
	tests := []struct {
		url    string
		want   int
		prefix string // of the body
	}{
		{"http://" + adminAddr + "/debug/pprof/heap?debug=1", http.StatusOK, "heap profile:"},
		{"http://" + adminAddr + "/debug/pprof/goroutine?debug=1", http.StatusOK, "goroutine profile:"},
		{"http://" + adminAddr + "/debug/pprof/profile?seconds=1", http.StatusOK, "\x1f\x8b"},
		{"http://" + adminAddr + "/debug/pprof/profile?seconds=900", http.StatusBadRequest, "seconds: must be"},
		{"http://" + adminAddr + "/debug/pprof/trace?seconds=x", http.StatusBadRequest, "seconds: must be"},
		{"http://" + httpAddr + "/debug/pprof/heap?debug=1", http.StatusNotFound, "{"},
	}
	for _, tt := range tests {
		resp, err := http.Get(tt.url)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.url, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want || !strings.HasPrefix(string(b), tt.prefix) {
			t.Errorf("GET %s = %d %.80q, want %d starting %q", tt.url, resp.StatusCode, b, tt.want, tt.prefix)
		}
	}
}
