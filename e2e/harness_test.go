package e2e

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/defender-gateway/gateway/internal/app"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// leakIgnores are the goroutines that outlive single tests by design: the
// OpenTelemetry global no-op providers, grpc's internal resolver
// goroutines, and idle keep-alive connections.
var leakIgnores = []goleak.Option{
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
	goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreAnyFunction("internal/poll.runtime_pollWait"),
}

func TestMain(m *testing.M) {
	if os.Getenv(gatewayProcessEnv) != "" {
		// This test binary was started as a gateway process (see
		// startGatewayProcess): it runs the server, not the tests.
		os.Exit(runGatewayProcess())
	}
	goleak.VerifyTestMain(m, leakIgnores...)
}

// backends are the upstreams every case runs against.
var backends = []string{"graph", "xdr"}

// gateway is one running gateway and the emulator behind it.
type gateway struct {
	gw       *app.Gateway
	emu      *emulator.Emulator
	backend  string
	grpcAddr string
	httpAddr string
	stop     func()
	done     chan error
}

// startEmulator starts an emulator that lives as long as the test.
func startEmulator(t testing.TB) *emulator.Emulator {
	t.Helper()
	emu, err := emulator.Start(emulator.Options{})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// sandboxConfig is the configuration of a gateway on emu with backend and
// the emulator's full-permission app, exactly as an operator would write it
// (no --sandbox shortcut).
func sandboxConfig(t testing.TB, emu *emulator.Emulator, backend string) *config.Config {
	t.Helper()
	return appConfig(t, emu, backend, identity.ClientID, identity.ClientSecret)
}

// appConfig is sandboxConfig for another app registration, with extra
// flags appended.
func appConfig(t testing.TB, emu *emulator.Emulator, backend, clientID, secret string, extra ...string) *config.Config {
	t.Helper()
	api, scope := emu.GraphURL(), identity.GraphResource+"/.default"
	if backend == "xdr" {
		api, scope = emu.XDRURL(), identity.XDRResource+"/.default"
	}
	args := []string{
		"--tenant-id", identity.HomeTenantID,
		"--client-id", clientID,
		"--backend", backend,
		"--authority-host", emu.AuthorityHost(),
		"--api-url", api,
		"--scope", scope,
		"--grpc-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0",
		"--shutdown-timeout", "5s",
	}
	if !slices.ContainsFunc(extra, func(a string) bool { return strings.HasPrefix(a, "--quota-") }) {
		args = append(args, "--quota-file", roomyQuotaFile(t))
	}
	args = append(args, extra...)
	env := map[string]string{"DEFENDER_CLIENT_SECRET": secret}
	cfg, err := config.Load(args, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("validate config: %v", err)
	}
	return cfg
}

// roomyQuota raises every budget far above what a test sends: the
// emulator enforces no limits in the functional tests, and the documented
// ones (a burst of 5 XDR writes, then 45 a minute) would make them wait.
// The scheduler still admits every upstream request; quota_test.go tests
// the real budgets.
const roomyQuota = `backends:
  graph: &roomy
    incident-read: [{count: 100000, per: 1m}]
    incident-get: [{count: 100000, per: 1m}]
    incident-write: [{count: 100000, per: 1m}]
    hunting: [{count: 100000, per: 1m}]
    alert-read: [{count: 100000, per: 1m}]
    alert-get: [{count: 100000, per: 1m}]
    alert-write: [{count: 100000, per: 1m}]
    whole-api: [{count: 100000, per: 1m}]
  xdr: *roomy
`

// roomyQuotaFile writes roomyQuota for one test.
func roomyQuotaFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "quota.yaml")
	if err := os.WriteFile(path, []byte(roomyQuota), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startGateway builds and serves a gateway for cfg; it stops with the test.
func startGateway(t testing.TB, emu *emulator.Emulator, cfg *config.Config) *gateway {
	t.Helper()
	return startGatewayLogging(t, emu, cfg, nil)
}

// startGatewayLogging is startGateway with the gateway's log going to
// logger (nil discards it).
func startGatewayLogging(t testing.TB, emu *emulator.Emulator, cfg *config.Config, logger *slog.Logger) *gateway {
	t.Helper()
	gw, err := app.Build(cfg, app.Dependencies{HTTPClient: emu.HTTPClient(), Logger: logger})
	if err != nil {
		t.Fatalf("build gateway: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &gateway{
		gw:       gw,
		emu:      emu,
		backend:  string(cfg.Backend),
		grpcAddr: gw.Server.GRPCAddr(),
		httpAddr: gw.Server.HTTPAddr(),
		stop:     cancel,
		done:     make(chan error, 1),
	}
	go func() {
		err := gw.Server.Serve(ctx)
		gw.Close()
		g.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-g.done:
			if err != nil {
				t.Errorf("gateway stopped with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("gateway did not stop within 10s")
		}
	})
	return g
}

// clients returns the gRPC and REST clients of g, each stopping with the test.
func (g *gateway) clients(t testing.TB) []client {
	t.Helper()
	return g.tlsClients(t, nil)
}

// tlsClients returns the gRPC and REST clients of g speaking TLS with tc;
// nil speaks plaintext.
func (g *gateway) tlsClients(t testing.TB, tc *tls.Config) []client {
	t.Helper()
	creds, scheme := insecure.NewCredentials(), "http://"
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if tc != nil {
		creds, scheme = credentials.NewTLS(tc), "https://"
		transport.TLSClientConfig = tc
	}
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatalf("dial gateway: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	hc := &http.Client{Timeout: 30 * time.Second, Transport: transport}
	t.Cleanup(hc.CloseIdleConnections)
	return []client{newGRPCClient(conn), newRESTClient(hc, scheme+g.httpAddr)}
}

// forEach runs fn for every backend and transport, each on a fresh emulator
// and gateway so that cases cannot disturb each other's data.
func forEach(t *testing.T, fn func(t *testing.T, g *gateway, c client)) {
	t.Helper()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, sandboxConfig(t, emu, backend))
			for _, c := range g.clients(t) {
				t.Run(c.name(), func(t *testing.T) { fn(t, g, c) })
			}
		})
	}
}

// stopAndWait stops g and waits for it to finish, before the test ends.
func (g *gateway) stopAndWait(t testing.TB) {
	t.Helper()
	g.stop()
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("gateway stopped with %v", err)
		}
		g.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not stop within 10s")
	}
}
