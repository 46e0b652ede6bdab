package main

import (
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// roomyQuota is e2e's: every budget far above what the run sends, so that
// the scheduler admits every call without pacing the load.
const roomyQuota = `backends:
  graph: &roomy
    incident-read: [{count: 100000, per: 1m}]
    incident-get: [{count: 100000, per: 1m}]
    incident-write: [{count: 100000, per: 1m}]
    hunting: [{count: 100000, per: 1m}]
    whole-api: [{count: 100000, per: 1m}]
  xdr: *roomy
`

// gatewayProcess is a running gateway binary.
type gatewayProcess struct {
	cmd      *exec.Cmd
	grpcAddr string
	httpAddr string
}

// startGateway runs s.bin against the emulator on free loopback ports,
// configured as e2e's appConfig does, and waits until it is healthy. Its
// log goes to logFile. Without coalesce, every call makes its own upstream
// request, as the direct client's do.
func startGateway(bin, dir string, emu emulatorInfo, s settings, logFile string) (*gatewayProcess, error) {
	grpcAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	quota := filepath.Join(dir, "quota.yaml")
	if err := os.WriteFile(quota, []byte(roomyQuota), 0o600); err != nil {
		return nil, err
	}
	logOut, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logOut.Close() // the child has its own descriptor
	cmd := exec.Command(s.bin, "--tenant-id", identity.HomeTenantID, "--client-id", identity.ClientID,
		"--backend", s.backend, "--authority-host", emu.AuthorityHost, "--api-url", emu.apiURL(s.backend),
		"--scope", upstreams[s.backend].scope, "--grpc-addr", grpcAddr, "--http-addr", httpAddr,
		"--shutdown-timeout", "5s", "--quota-file", quota, "--log-level", s.logLevel,
		"--coalesce-reads="+strconv.FormatBool(s.coalesce))
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+filepath.Join(dir, "ca.pem"),
		"DEFENDER_CLIENT_SECRET="+identity.ClientSecret)
	cmd.Stdout, cmd.Stderr = logOut, logOut
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	g := &gatewayProcess{cmd: cmd, grpcAddr: grpcAddr, httpAddr: httpAddr}
	if err := waitHealthy("http://" + httpAddr + "/healthz"); err != nil {
		g.stop()
		return nil, err
	}
	return g, nil
}

// stop ends the gateway with SIGTERM and waits for it.
func (g *gatewayProcess) stop() {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = g.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-done
	}
}

// childAttr makes a child process end with SIGTERM when costbench does
// (Linux, like the /proc figures), so that an interrupted run leaves no
// gateway, emulator or ghz behind.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} }

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitHealthy(u string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the gateway did not become healthy in 30s")
}
