package docs_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A shell block is a sandbox example when the line before its ```sh fence
// is a marker:
//
//	<!-- sandbox-example [standalone] [errors] [expect="text" | expect='text']... -->
//
// The test starts a sandbox on the documented ports (localhost:50051 and
// :8080) and runs the block with bash, exactly as written, from the
// repository root. standalone: the block starts (and stops) its own
// gateway, so none is started for it. errors: some commands are meant to
// fail (a denied call), so the block runs without -e; otherwise every
// command must succeed (bash -e -o pipefail) and no REST call may answer an
// error. Each expect text must appear in the output.
//
// A shell block that talks to localhost without a marker must say why with
// <!-- not-sandbox: reason -->.
var marker = regexp.MustCompile(`^<!-- (sandbox-example|not-sandbox)(:?\s.*)?-->$`)

var (
	expectArg     = regexp.MustCompile(`expect="([^"]*)"|expect='([^']*)'`)
	restErrorCode = regexp.MustCompile(`"code":\s*\d+`)
)

// documents are the files whose examples are checked, from the repository
// root.
var documents = []string{"README.md", "docs/auth.md", "docs/emulator.md", "docs/configuration.md", "docs/watch.md", "docs/operations.md", "docs/observability.md", "docs/hunting.md", "docs/clients.md"}

// example is one marked shell block.
type example struct {
	file       string
	line       int
	script     string
	standalone bool
	errors     bool
	expects    []string
}

// examples parses the marked blocks of the documents and fails on a block
// that talks to localhost without a marker.
func examples(t *testing.T, root string) []example {
	t.Helper()
	var out []example
	for _, doc := range documents {
		data, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			if !strings.HasPrefix(lines[i], "```sh") {
				continue
			}
			start := i
			var body []string
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
				body = append(body, lines[i])
			}
			script := strings.Join(body, "\n") + "\n"
			var m []string
			if start > 0 {
				m = marker.FindStringSubmatch(strings.TrimSpace(lines[start-1]))
			}
			switch {
			case m == nil:
				if strings.Contains(script, "localhost:") {
					t.Errorf("%s:%d: a shell block talks to localhost without a <!-- sandbox-example --> or <!-- not-sandbox: why --> marker", doc, start+1)
				}
			case m[1] == "sandbox-example":
				ex := example{file: doc, line: start + 1, script: script}
				words := expectArg.ReplaceAllString(m[2], "")
				ex.standalone = strings.Contains(words, "standalone")
				ex.errors = strings.Contains(words, "errors")
				for _, e := range expectArg.FindAllStringSubmatch(m[2], -1) {
					ex.expects = append(ex.expects, e[1]+e[2])
				}
				out = append(out, ex)
			}
		}
	}
	return out
}

// TestDocsExamples runs every marked block. It binds the documented fixed
// ports, so it runs only with DEFENDER_DOCS_EXAMPLES=1 (.ci/run sets it);
// the marker check runs always.
func TestDocsExamples(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	exs := examples(t, root)
	if len(exs) < 5 {
		t.Fatalf("found %d marked sandbox examples, want the README's and docs/auth.md's", len(exs))
	}
	if os.Getenv("DEFENDER_DOCS_EXAMPLES") != "1" {
		t.Skip("set DEFENDER_DOCS_EXAMPLES=1 to run the docs' sandbox examples (they bind localhost:50051 and :8080; .ci/run does)")
	}
	for _, tool := range []string{"bash", "grpcurl", "curl", "sed", "grep", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH; the examples need it (.ci/run installs grpcurl)", tool)
		}
	}
	for _, addr := range []string{"127.0.0.1:50051", "127.0.0.1:8080"} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("%s is in use; the examples need the documented ports free", addr)
		}
	}
	bin := filepath.Join(t.TempDir(), "defender-gateway")
	build := exec.Command("go", "build", "-o", bin, "./cmd/server")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cleanCreatedFiles(t, root)

	for _, ex := range exs {
		t.Run(strings.ReplaceAll(ex.file, "/", "_")+":"+strconv.Itoa(ex.line), func(t *testing.T) {
			var serverLog syncBuffer
			if !ex.standalone {
				stop := startSandbox(t, bin, &serverLog)
				defer stop()
			}
			out, err := runBlock(t, root, ex)
			if err != nil && !ex.errors {
				t.Fatalf("%s:%d failed (%v):\n%s\n--- output:\n%s\n--- sandbox log:\n%.4000s", ex.file, ex.line, err, ex.script, out, serverLog.String())
			}
			if !ex.errors {
				if m := restErrorCode.FindString(out); m != "" {
					t.Errorf("%s:%d: a REST call answered an error (%s):\n%s", ex.file, ex.line, m, out)
				}
			}
			for _, want := range ex.expects {
				if !strings.Contains(out, want) {
					t.Errorf("%s:%d: output lacks %q:\n%s\n--- output:\n%s", ex.file, ex.line, want, ex.script, out)
				}
			}
			for _, bad := range []string{"command not found", "Failed to dial", "Connection refused", "No such file"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s:%d: output has %q:\n%s", ex.file, ex.line, bad, out)
				}
			}
		})
	}
}

// startSandbox starts bin --sandbox on the default ports and waits for
// /healthz; stop sends SIGTERM and expects a clean exit.
func startSandbox(t *testing.T, bin string, log *syncBuffer) (stop func()) {
	t.Helper()
	cmd := exec.Command(bin, "--sandbox")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://localhost:8080/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("the sandbox did not become healthy in 20s:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the sandbox exited with %v after SIGTERM", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("the sandbox did not stop within 20s of SIGTERM")
		}
	}
}

// runBlock runs the block with bash from the repository root, in its own
// process group, which is killed afterwards (a standalone block's gateway
// included).
func runBlock(t *testing.T, root string, ex example) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{"-c", ex.script}
	if !ex.errors {
		args = []string{"-e", "-o", "pipefail", "-c", ex.script}
	}
	cmd := exec.CommandContext(ctx, "bash", args...)
	cmd.Dir = root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
		// Stop what the block left running, then let its output settle.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		if ex.standalone {
			waitPortsFree(t)
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("%s:%d did not finish within 3 minutes", ex.file, ex.line)
	}
	return out.String(), err
}

// waitPortsFree waits until nothing listens on the documented ports.
func waitPortsFree(t *testing.T) {
	t.Helper()
	for range 100 {
		busy := false
		for _, addr := range []string{"127.0.0.1:50051", "127.0.0.1:8080"} {
			if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
				c.Close()
				busy = true
			}
		}
		if !busy {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Error("the documented ports are still in use after the block")
}

// exampleFiles are the (git-ignored) files the examples create in the
// repository root.
var exampleFiles = []string{"defender-gateway", "soc.key", "soc-bot.key", "api-keys.yaml", "policy.yaml"}

// cleanCreatedFiles removes, after the test, the example files that did
// not exist before it.
func cleanCreatedFiles(t *testing.T, root string) {
	t.Helper()
	for _, f := range exampleFiles {
		p := filepath.Join(root, f)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		t.Cleanup(func() { _ = os.Remove(p) })
	}
}

// syncBuffer is a strings.Builder safe for a writing process and a
// reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
