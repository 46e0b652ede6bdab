package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/app"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// bannerCalls are the RPCs the sandbox banner's grpcurl lines may call,
// with their request and response types.
var bannerCalls = map[string]func() (req, resp proto.Message){
	"defender.v1.IncidentService/ListIncidents": func() (proto.Message, proto.Message) {
		return &defenderv1.ListIncidentsRequest{}, &defenderv1.ListIncidentsResponse{}
	},
	"defender.v1.HuntingService/RunQuery": func() (proto.Message, proto.Message) {
		return &defenderv1.RunQueryRequest{}, &defenderv1.RunQueryResponse{}
	},
	"defender.v1.AuthService/ListContexts": func() (proto.Message, proto.Message) {
		return &defenderv1.ListContextsRequest{}, &defenderv1.ListContextsResponse{}
	},
	"defender.v1.AuthService/StartDeviceLogin": func() (proto.Message, proto.Message) {
		return &defenderv1.StartDeviceLoginRequest{}, &defenderv1.DeviceLogin{}
	},
}

// TestMainSandbox runs the process in sandbox mode for each backend: the
// banner's grpcurl and curl lines work against it, the healthcheck
// subcommand sees it SERVING, the effective configuration is logged with
// the secret masked and the sandbox secret never printed, and cancelling
// the context ends it with exit 0.
func TestMainSandbox(t *testing.T) {
	listen := []string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantBackend string
	}{
		{"graph flag", append([]string{"--sandbox"}, listen...), nil, "graph"},
		{"xdr env", append([]string{"--sandbox"}, listen...), map[string]string{"DEFENDER_BACKEND": "xdr"}, "xdr"},
		{"sandbox env", listen, map[string]string{"DEFENDER_SANDBOX": "true"}, "graph"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			exit := make(chan int, 1)
			go func() { exit <- app.Main(ctx, tt.args, envOf(tt.env), nil, &stdout, &stderr) }()
			stopped := false
			defer func() {
				if !stopped {
					cancel()
					<-exit
				}
			}()

			if !eventually(20*time.Second, func() bool {
				return strings.Contains(stdout.String(), "Stop with Ctrl-C.") || len(exit) > 0
			}) {
				t.Fatalf("no banner within 20s; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			banner := stdout.String()
			m := grpcurlList.FindStringSubmatch(banner)
			if m == nil {
				t.Fatalf("banner has no grpcurl list line:\n%s\nstderr:\n%s", banner, stderr.String())
			}
			grpcAddr := m[1]

			conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatalf("dial %s from the banner: %v", grpcAddr, err)
			}
			defer conn.Close()

			t.Run("grpcurl list", func(t *testing.T) {
				services := listServices(t, conn)
				for _, want := range []string{"defender.v1.IncidentService", "defender.v1.HuntingService", "defender.v1.AuthService"} {
					if !contains(services, want) {
						t.Errorf("reflection lists %q, want %s", services, want)
					}
				}
			})

			t.Run("grpcurl calls", func(t *testing.T) {
				calls := grpcurlCall.FindAllStringSubmatch(banner, -1)
				if len(calls) == 0 {
					t.Fatalf("banner has no grpcurl -d lines:\n%s", banner)
				}
				for _, c := range calls {
					body, addr, method := c[1], c[2], c[3]
					if addr != grpcAddr {
						t.Errorf("%s is called at %s, the list line at %s", method, addr, grpcAddr)
					}
					mk, ok := bannerCalls[method]
					if !ok {
						t.Errorf("banner calls %s, which this test does not know", method)
						continue
					}
					req, resp := mk()
					if err := protojson.Unmarshal([]byte(body), req); err != nil {
						t.Errorf("%s: the banner's -d %s is not a valid request: %v", method, body, err)
						continue
					}
					cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
					err := conn.Invoke(cctx, "/"+method, req, resp)
					ccancel()
					if err != nil {
						t.Errorf("%s %s: %v", method, body, err)
						continue
					}
					switch r := resp.(type) {
					case *defenderv1.ListIncidentsResponse:
						if n := len(r.GetIncidents()); n != 3 {
							t.Errorf("ListIncidents page_size 3 returned %d incidents", n)
						}
					case *defenderv1.RunQueryResponse:
						if len(r.GetRows()) == 0 {
							t.Errorf("RunQuery returned no rows: %v", r)
						}
					case *defenderv1.DeviceLogin:
						if r.GetUserCode() == "" || !strings.HasSuffix(r.GetVerificationUri(), "/devicelogin") {
							t.Errorf("StartDeviceLogin = %v, want a user code and the emulator's sign-in page", r)
						}
					}
				}
			})

			t.Run("curl", func(t *testing.T) {
				urls := curlLine.FindAllStringSubmatch(banner, -1)
				if len(urls) < 2 {
					t.Fatalf("banner has %d curl lines, want the incidents and contexts ones:\n%s", len(urls), banner)
				}
				for _, u := range urls {
					code, body := httpGet(t, u[1])
					if code != http.StatusOK || !json.Valid(body) {
						t.Errorf("curl %s: HTTP %d %.300s", u[1], code, body)
					}
					if strings.Contains(u[1], "/incidents?pageSize=3") {
						var r struct{ Incidents []json.RawMessage }
						if err := json.Unmarshal(body, &r); err != nil || len(r.Incidents) != 3 {
							t.Errorf("curl %s: %d incidents (%v), want 3", u[1], len(r.Incidents), err)
						}
					}
				}
				if !strings.Contains(banner, "/openapi.json") {
					t.Error("banner does not point at the OpenAPI document")
				}
			})

			t.Run("healthcheck", func(t *testing.T) {
				code, out, errOut := run(t, []string{"healthcheck", "--grpc-addr", grpcAddr, "--timeout", "5s"}, nil)
				if code != 0 || out != "SERVING\n" {
					t.Errorf("healthcheck: exit %d, stdout %q, stderr %q; want 0 and SERVING", code, out, errOut)
				}
			})

			conn.Close()
			cancel()
			select {
			case code := <-exit:
				stopped = true
				if code != 0 {
					t.Errorf("exit code %d after cancel, want 0; stderr:\n%s", code, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Main did not return within 10s of cancel")
			}

			// The effective configuration, masked.
			var cfg map[string]any
			for _, rec := range logRecords(t, stderr.String()) {
				if rec["msg"] == "effective configuration" {
					cfg, _ = rec["config"].(map[string]any)
				}
			}
			if cfg == nil {
				t.Fatalf("no \"effective configuration\" record with a config group in stderr:\n%s", stderr.String())
			}
			wants := map[string]any{
				"client_secret": "[REDACTED]",
				"sandbox":       true,
				"backend":       tt.wantBackend,
				"tenant_id":     identity.HomeTenantID,
				"client_id":     identity.ClientID,
			}
			for k, want := range wants {
				if cfg[k] != want {
					t.Errorf("effective configuration %s = %v, want %v", k, cfg[k], want)
				}
			}
			if api, _ := cfg["api_url"].(string); !strings.HasPrefix(api, "https://127.0.0.1:") {
				t.Errorf("effective configuration api_url = %q, want the emulator's", api)
			}
			for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
				if strings.Contains(out, identity.ClientSecret) {
					t.Errorf("the sandbox client secret appears in %s", name)
				}
			}
		})
	}
}

// listServices lists the services through server reflection, as grpcurl
// list does.
func listServices(t *testing.T, conn *grpc.ClientConn) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names
}
