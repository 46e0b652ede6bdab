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

// TestSIGHUPReloadsThePolicy runs the process with API keys and a policy,
// sends it SIGHUP after changing the policy, and sees the change take
// effect; an invalid policy on the next SIGHUP is logged and ignored.
func TestSIGHUPReloadsThePolicy(t *testing.T) {
	const key = "reload-test-key-5d1c9a0e7b"
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.yaml")
	policyFile := filepath.Join(dir, "policy.yaml")
	writePolicy := func(ops string) {
		t.Helper()
		body := "callers:\n  - identity: api-key:ops\n    tenants: [default]\n    operations: [" + ops + "]\n"
		if err := os.WriteFile(policyFile, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(keys, []byte("keys:\n  - name: ops\n    sha256: "+callerauth.HashAPIKey(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writePolicy("incidents.read")

	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() {
		exit <- app.Main(ctx, []string{"--sandbox", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
			"--caller-auth", "api-key", "--api-keys-file", keys, "--policy-file", policyFile}, envOf(nil), nil, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		<-exit
	}()
	if !eventually(20*time.Second, func() bool { return strings.Contains(stdout.String(), "Stop with Ctrl-C.") || len(exit) > 0 }) {
		t.Fatalf("no banner within 20s; stderr:\n%s", stderr.String())
	}
	m := grpcurlList.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no gRPC address in the banner:\n%s", stdout.String())
	}
	conn, err := grpc.NewClient(m[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	incidents := defenderv1.NewIncidentServiceClient(conn)
	update := func() error {
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
	if err := update(); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("update before the reload = %v, want PERMISSION_DENIED", err)
	}

	writePolicy("incidents.read, incidents.write")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "policy, API keys and TLS files reloaded") }) {
		t.Fatalf("no reload logged; stderr:\n%s", stderr.String())
	}
	if err := update(); err != nil {
		t.Errorf("update after the reload: %v", err)
	}

	writePolicy("incidents.delete")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "reload failed") }) {
		t.Fatalf("no failed reload logged; stderr:\n%s", stderr.String())
	}
	if err := update(); err != nil {
		t.Errorf("update after a failed reload (the previous policy stays): %v", err)
	}
}
