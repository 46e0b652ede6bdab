package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/defender-gateway/gateway/internal/app"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// gatewayProcessEnv, when set, makes the test binary run app.Main with the
// JSON array of arguments it holds, as the real binary would.
const gatewayProcessEnv = "E2E_GATEWAY_PROCESS_ARGS"

func runGatewayProcess() int {
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv(gatewayProcessEnv)), &args); err != nil {
		return 2
	}
	return app.Main(context.Background(), args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
}

// gatewayProcess is a gateway running in a process of its own, which a
// test can kill (SIGKILL: no drain, no lease released).
type gatewayProcess struct {
	cmd      *exec.Cmd
	grpcAddr string
	httpAddr string
	logPath  string
	waitOnce sync.Once
}

// startGatewayProcess runs a gateway process on emu's app registration
// for backend, with extra flags, on free loopback ports, trusting the
// emulator's CA through SSL_CERT_FILE as an operator's would; it waits for
// /healthz. The process is killed when the test ends.
func startGatewayProcess(t *testing.T, emu *emulator.Emulator, backend string, extra ...string) *gatewayProcess {
	t.Helper()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, emu.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	api, scope := emu.GraphURL(), identity.GraphResource+"/.default"
	if backend == "xdr" {
		api, scope = emu.XDRURL(), identity.XDRResource+"/.default"
	}
	p := &gatewayProcess{grpcAddr: freeAddr(t), httpAddr: freeAddr(t), logPath: filepath.Join(dir, "gateway.log")}
	args := append([]string{
		"--tenant-id", identity.HomeTenantID, "--client-id", identity.ClientID, "--backend", backend,
		"--authority-host", emu.AuthorityHost(), "--api-url", api, "--scope", scope,
		"--grpc-addr", p.grpcAddr, "--http-addr", p.httpAddr, "--shutdown-timeout", "5s",
		"--quota-file", roomyQuotaFile(t),
	}, extra...)
	encoded, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	p.cmd = exec.Command(exe)
	p.cmd.Env = append(os.Environ(), gatewayProcessEnv+"="+string(encoded),
		"DEFENDER_CLIENT_SECRET="+identity.ClientSecret, "SSL_CERT_FILE="+caFile)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill(t) })
	waitFor(t, "a gateway process to be healthy", func() bool {
		resp, err := http.Get("http://" + p.httpAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// kill ends the process at once, with SIGKILL.
func (p *gatewayProcess) kill(t *testing.T) {
	p.waitOnce.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	})
}

// logHas reports whether the process has logged a line containing s.
func (p *gatewayProcess) logHas(t *testing.T, s string) bool {
	t.Helper()
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), s)
}

// log is the process's log, for failure messages.
func (p *gatewayProcess) log(t *testing.T) string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}
