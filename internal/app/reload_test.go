package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/app"
	"github.com/defender-gateway/gateway/internal/callerauth"
)

// reloadGateway is a sandbox gateway with API keys and a policy file, for
// the reload tests.
type reloadGateway struct {
	stderr *syncBuffer
	// writePolicy gives the api-key:ops caller these operations.
	writePolicy func(ops string)
	// update tries an UpdateIncident, which needs incidents.write.
	update func() error
}

// startReloadGateway runs the process with API keys, a policy allowing
// incidents.read, and extra flags; it stops at the end of the test.
func startReloadGateway(t *testing.T, policyFile string, extra ...string) *reloadGateway {
	t.Helper()
	const key = "reload-test-key-5d1c9a0e7b"
	keys := filepath.Join(t.TempDir(), "keys.yaml")
	g := &reloadGateway{stderr: &syncBuffer{}}
	g.writePolicy = func(ops string) {
		t.Helper()
		body := "callers:\n  - identity: api-key:ops\n    tenants: [default]\n    operations: [" + ops + "]\n"
		// A new file renamed into place, as an editor or Kubernetes'
		// symlink swap does, so the process never reads half a file.
		tmp := policyFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, policyFile); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(keys, []byte("keys:\n  - name: ops\n    sha256: "+callerauth.HashAPIKey(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.writePolicy("incidents.read")

	var stdout syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	args := append([]string{"--sandbox", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--caller-auth", "api-key", "--api-keys-file", keys, "--policy-file", policyFile}, extra...)
	go func() { exit <- app.Main(ctx, args, envOf(nil), nil, &stdout, g.stderr) }()
	t.Cleanup(func() {
		cancel()
		<-exit
	})
	if !eventually(20*time.Second, func() bool { return strings.Contains(stdout.String(), "Stop with Ctrl-C.") || len(exit) > 0 }) {
		t.Fatalf("no banner within 20s; stderr:\n%s", g.stderr.String())
	}
	m := grpcurlList.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no gRPC address in the banner:\n%s", stdout.String())
	}
	conn, err := grpc.NewClient(m[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	incidents := defenderv1.NewIncidentServiceClient(conn)
	g.update = func() error {
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "x-api-key", key), 10*time.Second)
		defer cancel()
		page, err := incidents.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: 1})
		if err != nil {
			t.Fatalf("ListIncidents: %v", err)
		}
		_, err = incidents.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{
			Incident:   &defenderv1.Incident{Name: page.GetIncidents()[0].GetName(), AssignedTo: "ops@contoso.com"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assigned_to"}},
		})
		return err
	}
	return g
}

// TestSIGHUPReloadsThePolicy runs the process with API keys and a policy,
// sends it SIGHUP after changing the policy, and sees the change take
// effect; an invalid policy on the next SIGHUP is logged and ignored.
func TestSIGHUPReloadsThePolicy(t *testing.T) {
	g := startReloadGateway(t, filepath.Join(t.TempDir(), "policy.yaml"))
	if err := g.update(); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("update before the reload = %v, want PERMISSION_DENIED", err)
	}

	g.writePolicy("incidents.read, incidents.write")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool { return strings.Contains(g.stderr.String(), "policy, API keys and TLS files reloaded") }) {
		t.Fatalf("no reload logged; stderr:\n%s", g.stderr.String())
	}
	if err := g.update(); err != nil {
		t.Errorf("update after the reload: %v", err)
	}

	g.writePolicy("incidents.delete")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool { return strings.Contains(g.stderr.String(), "reload failed") }) {
		t.Fatalf("no failed reload logged; stderr:\n%s", g.stderr.String())
	}
	if err := g.update(); err != nil {
		t.Errorf("update after a failed reload (the previous policy stays): %v", err)
	}
}

// TestReloadWatchReloadsAChangedPolicy runs the process with
// --reload-watch-interval and no signal: a changed policy file takes effect
// and the reload is logged with the file; an invalid one is logged and the
// previous policy stays.
func TestReloadWatchReloadsAChangedPolicy(t *testing.T) {
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	g := startReloadGateway(t, policyFile, "--reload-watch-interval", "100ms")
	if err := g.update(); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("update before the change = %v, want PERMISSION_DENIED", err)
	}
	if strings.Contains(g.stderr.String(), "files reloaded") {
		t.Fatalf("a reload before any change; stderr:\n%s", g.stderr.String())
	}

	g.writePolicy("incidents.read, incidents.write")
	reloaded := func() bool {
		for line := range strings.Lines(g.stderr.String()) {
			if strings.Contains(line, "policy, API keys and TLS files reloaded") && strings.Contains(line, `"trigger":"file change"`) &&
				strings.Contains(line, policyFile) {
				return true
			}
		}
		return false
	}
	if !eventually(10*time.Second, reloaded) {
		t.Fatalf("no reload logged after the change; stderr:\n%s", g.stderr.String())
	}
	if err := g.update(); err != nil {
		t.Errorf("update after the watched reload: %v", err)
	}

	g.writePolicy("incidents.delete")
	if !eventually(10*time.Second, func() bool { return strings.Contains(g.stderr.String(), "reload failed") }) {
		t.Fatalf("no failed reload logged; stderr:\n%s", g.stderr.String())
	}
	if err := g.update(); err != nil {
		t.Errorf("update after a failed reload (the previous policy stays): %v", err)
	}
}
