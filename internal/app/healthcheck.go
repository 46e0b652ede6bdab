package app

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// healthcheck asks a running gateway's gRPC health service whether it is
// serving: on the admin listener when one is configured (plaintext), else
// on the gRPC listener. It exits 0 when it is, 1 otherwise. The container
// image has no shell or curl, so the binary checks itself.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := getenv("DEFENDER_GRPC_ADDR")
	if addr == "" {
		addr = ":50051"
	}
	fs.StringVar(&addr, "grpc-addr", addr, "gRPC address of the gateway to check")
	adminAddr := fs.String("admin-addr", getenv("DEFENDER_ADMIN_ADDR"), "admin address of the gateway; when set it is checked instead, in plaintext")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for an answer")
	useTLS := fs.Bool("tls", getenv("DEFENDER_TLS_CERT_FILE") != "", "speak TLS (default: when DEFENDER_TLS_CERT_FILE is set)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	creds := insecure.NewCredentials()
	if *adminAddr != "" {
		addr = *adminAddr
	} else if *useTLS {
		// A probe of the local process: it sends no credential and reads
		// only the serving status, so the server's name is not verified
		// (its certificate rarely names the probe's address).
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // see above.
	}
	conn, err := grpc.NewClient(dialable(addr), grpc.WithTransportCredentials(creds))
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return exitFailed
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, resp.GetStatus())
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return exitFailed
	}
	return exitOK
}
