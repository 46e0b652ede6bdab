// Package sslcertfile_test checks that the gateway trusts a custom CA given
// through SSL_CERT_FILE when it uses the default HTTP transport.
//
// It is a package of its own, holding this one test, because Go loads the
// system roots once per process (crypto/x509 caches them behind a
// sync.Once): SSL_CERT_FILE must be set before anything in the test binary
// verifies a certificate with the system roots, and no other test may do so
// first. Keep other tests out of this directory.
package sslcertfile_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/app"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("internal/poll.runtime_pollWait"),
	)
}

// rootsLoaded is set once a run of TestSSLCertFile has made the process
// load its system roots.
var rootsLoaded bool

// TestSSLCertFile: with SSL_CERT_FILE naming the emulator's CA and no
// HTTP client given, the gateway signs in to the emulator's Entra ID and
// calls its API over verified TLS, for both backends. The CA is generated
// afresh by this run, so no system store can hold it: only SSL_CERT_FILE
// can make the calls succeed.
func TestSSLCertFile(t *testing.T) {
	if rootsLoaded {
		// go test -count=N: the roots of the first run's CA are cached.
		t.Skip("the system roots are already loaded in this process; SSL_CERT_FILE is read only once")
	}
	rootsLoaded = true

	// One emulator (one CA) serves both backends: the roots are read once
	// per process, so the file must not change between the subtests.
	emu, err := emulator.Start(emulator.Options{})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, emu.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", caFile)
	// The system-wide directories would still be read, but cannot hold this
	// run's CA; empty them anyway so that only the file is in play.
	t.Setenv("SSL_CERT_DIR", t.TempDir())

	for _, tt := range []struct{ backend, api string }{
		{"graph", emulator.APIGraph},
		{"xdr", emulator.APIXDR},
	} {
		backend := tt.backend
		t.Run(backend, func(t *testing.T) {
			emu.ResetRequests()
			resp := callThroughGateway(t, emulatorConfig(t, emu, backend))
			if n := len(resp.GetIncidents()); n != 2 {
				t.Errorf("ListIncidents page_size 2 returned %d incidents", n)
			}
			// The answer came from the emulator, through a token from its
			// authority: both TLS connections were verified with the file.
			if emu.TokenRequests() == 0 {
				t.Error("the emulator's authority issued no token")
			}
			var apiCalls int
			for _, r := range emu.Requests() {
				if r.API == tt.api && r.Status == http.StatusOK {
					apiCalls++
				}
			}
			if apiCalls == 0 {
				t.Errorf("the emulator's %s API answered no request", tt.api)
			}
		})
	}
}

// callThroughGateway builds a gateway for cfg with the default transport,
// serves it and lists incidents through it.
func callThroughGateway(t *testing.T, cfg *config.Config) *defenderv1.ListIncidentsResponse {
	t.Helper()
	gw, err := app.Build(cfg, app.Dependencies{HTTPClient: nil})
	if err != nil {
		t.Fatalf("build gateway: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Server.Serve(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("gateway did not stop within 10s")
		}
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	}()

	conn, err := grpc.NewClient(gw.Server.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	resp, err := defenderv1.NewIncidentServiceClient(conn).ListIncidents(cctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: 2})
	if err != nil {
		t.Fatalf("ListIncidents through the gateway: %v", err)
	}
	return resp
}

// emulatorConfig is the configuration of a gateway on emu, as an operator
// would write it (no --sandbox shortcut), as e2e's sandboxConfig.
func emulatorConfig(t *testing.T, emu *emulator.Emulator, backend string) *config.Config {
	t.Helper()
	api, scope := emu.GraphURL(), identity.GraphResource+"/.default"
	if backend == "xdr" {
		api, scope = emu.XDRURL(), identity.XDRResource+"/.default"
	}
	args := []string{
		"--tenant-id", identity.HomeTenantID,
		"--client-id", identity.ClientID,
		"--backend", backend,
		"--authority-host", emu.AuthorityHost(),
		"--api-url", api,
		"--scope", scope,
		"--grpc-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0",
		"--shutdown-timeout", "5s",
	}
	env := map[string]string{"DEFENDER_CLIENT_SECRET": identity.ClientSecret}
	cfg, err := config.Load(args, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("validate config: %v", err)
	}
	return cfg
}
