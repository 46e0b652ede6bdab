package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/defender-gateway/gateway/internal/app"
	"github.com/defender-gateway/gateway/internal/callerauth"
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

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
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

// envOf is a getenv over m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// run calls app.Main to completion and returns its exit code and output.
func run(t *testing.T, args []string, env map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	return runWithInput(t, args, env, "")
}

// runWithInput is run with stdin.
func runWithInput(t *testing.T, args []string, env map[string]string, stdin string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code = app.Main(ctx, args, envOf(env), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestMainMissingSettings: without credentials and without --sandbox the
// process exits 2 with one message naming every missing setting.
func TestMainMissingSettings(t *testing.T) {
	credential := []string{"DEFENDER_CLIENT_SECRET", "DEFENDER_CLIENT_SECRET_FILE", "DEFENDER_CLIENT_CERTIFICATE_FILE"}
	tests := []struct {
		name    string
		env     map[string]string
		want    []string
		notWant []string
	}{
		{
			name: "empty environment",
			env:  nil,
			want: append([]string{"DEFENDER_TENANT_ID", "DEFENDER_CLIENT_ID"}, credential...),
		},
		{
			name:    "tenant only",
			env:     map[string]string{"DEFENDER_TENANT_ID": "contoso.onmicrosoft.com"},
			want:    append([]string{"DEFENDER_CLIENT_ID"}, credential...),
			notWant: []string{"DEFENDER_TENANT_ID"},
		},
		{
			name:    "no credential",
			env:     map[string]string{"DEFENDER_TENANT_ID": "contoso.onmicrosoft.com", "DEFENDER_CLIENT_ID": "00000000-0000-0000-0000-000000000001"},
			want:    credential,
			notWant: []string{"DEFENDER_TENANT_ID", "DEFENDER_CLIENT_ID"},
		},
		{
			name: "sandbox explicitly off",
			env:  map[string]string{"DEFENDER_SANDBOX": "false"},
			want: append([]string{"DEFENDER_TENANT_ID", "DEFENDER_CLIENT_ID"}, credential...),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, tt.env)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %s:\n%s", w, stderr)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(stderr, nw+" ") {
					t.Errorf("stderr names %s, which is set:\n%s", nw, stderr)
				}
			}
			if n := strings.Count(stderr, "defender-gateway:"); n != 1 {
				t.Errorf("stderr holds %d messages, want all problems in one:\n%s", n, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

// TestMainHelp: -h and --help print the usage, listing the environment
// variables, on stdout and exit 0.
func TestMainHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		t.Run(arg, func(t *testing.T) {
			code, stdout, stderr := run(t, []string{arg}, nil)
			if code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			if !strings.HasPrefix(stdout, "Usage: defender-gateway") {
				t.Errorf("stdout does not start with the usage:\n%s", stdout)
			}
			for _, v := range []string{
				"DEFENDER_TENANT_ID", "DEFENDER_CLIENT_ID", "DEFENDER_CLIENT_SECRET", "DEFENDER_CLIENT_SECRET_FILE",
				"DEFENDER_CLIENT_CERTIFICATE_FILE", "DEFENDER_BACKEND", "DEFENDER_GRPC_ADDR", "DEFENDER_HTTP_ADDR",
				"DEFENDER_SANDBOX", "DEFENDER_SHUTDOWN_TIMEOUT", "SSL_CERT_FILE", "--sandbox", "healthcheck", "hash-api-key", "sandbox-token",
			} {
				if !strings.Contains(stdout, v) {
					t.Errorf("usage does not mention %s", v)
				}
			}
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}

// TestMainUsageErrors: a bad flag, value or argument exits 2 naming it,
// without starting anything.
func TestMainUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in stderr
	}{
		{"unknown flag", []string{"--no-such-flag"}, nil, "no-such-flag"},
		{"bad duration flag", []string{"--sandbox", "--shutdown-timeout", "soon"}, nil, "shutdown-timeout"},
		{"flag without value", []string{"--grpc-addr"}, nil, "grpc-addr"},
		{"positional argument", []string{"--sandbox", "serve"}, nil, `"serve"`},
		{"bad environment value", nil, map[string]string{"DEFENDER_SANDBOX": "maybe"}, "DEFENDER_SANDBOX"},
		{"invalid backend", []string{"--sandbox", "--backend", "mde"}, nil, "DEFENDER_BACKEND"},
		{"invalid address", []string{"--sandbox", "--grpc-addr", "nowhere"}, nil, "DEFENDER_GRPC_ADDR"},
		{"healthcheck unknown flag", []string{"healthcheck", "--nope"}, nil, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.args, tt.env)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not name %s:\n%s", tt.want, stderr)
			}
			if strings.Contains(stdout, "SANDBOX mode") {
				t.Errorf("the gateway started:\n%s", stdout)
			}
		})
	}
}

// TestHealthcheckUnreachable: the healthcheck subcommand fails with exit 1,
// within its timeout, when nothing listens.
func TestHealthcheckUnreachable(t *testing.T) {
	addr := closedAddr(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flag", []string{"healthcheck", "--grpc-addr", addr, "--timeout", "1s"}, nil},
		{"environment", []string{"healthcheck", "--timeout", "1s"}, map[string]string{"DEFENDER_GRPC_ADDR": addr}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			code, stdout, stderr := run(t, tt.args, tt.env)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("healthcheck took %v with --timeout 1s", took)
			}
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.HasPrefix(stderr, "healthcheck:") {
				t.Errorf("stderr = %q, want a healthcheck: error", stderr)
			}
			if strings.Contains(stdout, "SERVING") {
				t.Errorf("stdout = %q", stdout)
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// logRecords parses the JSON log lines of s; lines that are not JSON fail
// the test (stderr of a running gateway holds only JSON records).
func logRecords(t *testing.T, s string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("stderr line is not a JSON record: %q", line)
			continue
		}
		recs = append(recs, m)
	}
	return recs
}

// eventually polls cond every 20ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

var (
	grpcurlList = regexp.MustCompile(`(?m)^\s*grpcurl -plaintext (\S+) list$`)
	grpcurlCall = regexp.MustCompile(`(?m)^\s*grpcurl -plaintext -d '([^']*)' (\S+) (\S+)$`)
	curlLine    = regexp.MustCompile(`(?m)^\s*curl -s '?(http://[^'\s]+)'?$`)
)

// httpGet fetches u and returns the status and body.
func httpGet(t *testing.T, u string) (int, []byte) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, b.Bytes()
}

// contains reports whether any of names is s.
func contains(names []string, s string) bool { return slices.Contains(names, s) }

func TestHashAPIKey(t *testing.T) {
	const key = "k3y-9f2a61c0d4e8b7a5"
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		want     string
	}{
		{"entry", []string{"hash-api-key", "--name", "soc-bot"}, key + "\n", 0,
			"  - name: soc-bot\n    sha256: " + callerauth.HashAPIKey(key) + "\n"},
		{"no trailing newline", []string{"hash-api-key", "--name", "soc-bot"}, key, 0,
			"  - name: soc-bot\n    sha256: " + callerauth.HashAPIKey(key) + "\n"},
		{"no name", []string{"hash-api-key"}, key, 2, ""},
		{"bad name", []string{"hash-api-key", "--name", "a b"}, key, 2, ""},
		{"no key", []string{"hash-api-key", "--name", "x"}, "", 2, ""},
		{"short key", []string{"hash-api-key", "--name", "x"}, "short", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runWithInput(t, tt.args, nil, tt.stdin)
			if code != tt.wantCode || stdout != tt.want {
				t.Errorf("exit %d, stdout %q (stderr %q); want %d, %q", code, stdout, stderr, tt.wantCode, tt.want)
			}
			if strings.Contains(stdout+stderr, key) {
				t.Error("the key was printed")
			}
		})
	}
}
