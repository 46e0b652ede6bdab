package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/app"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// bannerREST is the REST base URL the banner prints.
var bannerREST = regexp.MustCompile(`(?m)^REST\s+(http://\S+)`)

// startSandbox runs the process in sandbox mode on free loopback ports and
// returns its gRPC address and REST base URL from the banner, and its log.
func startSandbox(t *testing.T, extra ...string) (grpcAddr, restURL string, stderr *syncBuffer) {
	t.Helper()
	grpcAddr, restURL, stderr, _ = startSandboxEnv(t, envOf(nil), extra...)
	return grpcAddr, restURL, stderr
}

// startSandboxEnv is startSandbox with the environment getenv; stop ends
// the process and waits for it (it is also called at cleanup).
func startSandboxEnv(t *testing.T, getenv func(string) string, extra ...string) (grpcAddr, restURL string, stderr *syncBuffer, stop func()) {
	t.Helper()
	var stdout syncBuffer
	stderr = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	args := append([]string{"--sandbox", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, extra...)
	go func() { exit <- app.Main(ctx, args, getenv, nil, &stdout, stderr) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-exit
		})
	}
	t.Cleanup(stop)
	if !eventually(20*time.Second, func() bool { return strings.Contains(stdout.String(), "Stop with Ctrl-C.") || len(exit) > 0 }) {
		t.Fatalf("no banner within 20s; stderr:\n%s", stderr.String())
	}
	g, r := grpcurlList.FindStringSubmatch(stdout.String()), bannerREST.FindStringSubmatch(stdout.String())
	if g == nil || r == nil {
		t.Fatalf("no addresses in the banner:\n%s", stdout.String())
	}
	return g[1], r[1], stderr, stop
}

// TestSandboxTokenSubcommand: `sandbox-token --user alice` against a
// running sandbox prints a user token that the gateway accepts as alice
// (on-behalf-of) over gRPC and REST; bad users, a missing sandbox and bad
// flags fail with a clear message; the token never reaches the log.
func TestSandboxTokenSubcommand(t *testing.T) {
	grpcAddr, rest, serverLog := startSandbox(t)

	code, out, errOut := run(t, []string{"sandbox-token", "--user", "alice", "--url", rest}, nil)
	if code != 0 {
		t.Fatalf("sandbox-token: exit %d, stderr %q", code, errOut)
	}
	token := strings.TrimSpace(out)
	if strings.Count(token, ".") != 2 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("sandbox-token printed %q, want one JWT on a line", out)
	}

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token), 20*time.Second)
	defer cancel()
	who, err := defenderv1.NewAuthServiceClient(conn).WhoAmI(ctx, &defenderv1.WhoAmIRequest{Tenant: "tenants/default"})
	if err != nil {
		t.Fatalf("gRPC WhoAmI with the token: %v", err)
	}
	if who.GetContext() != "contexts/user/on-behalf-of" || who.GetUpstreamIdentity() != identity.AliceUPN {
		t.Errorf("gRPC WhoAmI = %v, want on-behalf-of as %s", who, identity.AliceUPN)
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rest+"/v1/tenants/default:whoAmI", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var restWho struct{ Context, UpstreamIdentity string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &restWho) != nil ||
		restWho.Context != "contexts/user/on-behalf-of" || restWho.UpstreamIdentity != identity.AliceUPN {
		t.Errorf("REST whoAmI: HTTP %d %s, want on-behalf-of as %s", resp.StatusCode, body, identity.AliceUPN)
	}

	// The route takes a UPN too, and curl's form.
	resp, err = http.PostForm(rest+"/sandbox/token", url.Values{"user": {identity.CarolUPN}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Count(strings.TrimSpace(string(body)), ".") != 2 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("POST /sandbox/token user=carol's UPN: HTTP %d %q, Cache-Control %q", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}
	resp, err = http.Get(rest + "/sandbox/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /sandbox/token: HTTP %d, want 405", resp.StatusCode)
	}
	resp, err = http.Post(rest+"/sandbox/token", "application/x-www-form-urlencoded", strings.NewReader("user="+strings.Repeat("a", 8<<10)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an 8 KiB form: HTTP %d, want 400", resp.StatusCode)
	}

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stderr
	}{
		{"unknown user", []string{"--user", "mallory", "--url", rest}, 1, "user must be one of alice, bob, carol"},
		{"no user", []string{"--url", rest}, 2, "--user is required"},
		{"no sandbox", []string{"--user", "alice", "--url", "http://" + closedAddr(t)}, 1, "no sandbox gateway answered"},
		{"bad url", []string{"--user", "alice", "--url", "ftp://x"}, 2, "not an http(s) URL"},
		{"help", []string{"-h"}, 0, "Usage: defender-gateway sandbox-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, append([]string{"sandbox-token"}, tt.args...), nil)
			if code != tt.wantCode || !strings.Contains(errOut, tt.want) || (tt.wantCode != 0 && out != "") {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, errOut, tt.wantCode, tt.want)
			}
		})
	}

	if log := serverLog.String(); strings.Contains(log, token) || !strings.Contains(log, "sandbox user token issued") {
		t.Errorf("the log must record the issue and never the token:\n%s", log)
	}
}
