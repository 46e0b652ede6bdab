package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"regexp"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/defender-gateway/gateway/internal/app"
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

// TestRunAgainstSandbox runs the example's calls against an in-process
// sandbox (app.Main, as the binary runs it) and checks the summary lines
// that scripts/examples.sh checks for every client.
func TestRunAgainstSandbox(t *testing.T) {
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() {
		exit <- app.Main(ctx, []string{"--sandbox", "--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--watch-poll-interval", "200ms"},
			func(string) string { return "" }, nil, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if code := <-exit; code != 0 {
			t.Errorf("the sandbox exited %d", code)
		}
	}()

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ready, readyCancel := context.WithTimeout(ctx, 30*time.Second)
	defer readyCancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ready, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatalf("the sandbox did not answer its health check: %v", err)
	}

	var out bytes.Buffer
	if err := run(ctx, &out, conn); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	for _, want := range []string{
		`list incidents=3`,
		`get id=[0-9]+ alerts=[0-9]+`,
		`query columns=2 rows=4`,
		`stream columns=15 batches=3 rows=1200`,
		`watch first=heartbeat change=UPDATED`,
		`error code=INVALID_ARGUMENT reason=INVALID_ARGUMENT domain=defender.gateway field=parent`,
	} {
		if !regexp.MustCompile(`(?m)^` + want + `$`).Match(out.Bytes()) {
			t.Errorf("no line matching %q in:\n%s", want, out.String())
		}
	}
}

func TestCodeName(t *testing.T) {
	tests := []struct {
		code codes.Code
		want string
	}{
		{codes.OK, "OK"},
		{codes.InvalidArgument, "INVALID_ARGUMENT"},
		{codes.ResourceExhausted, "RESOURCE_EXHAUSTED"},
		{codes.Unauthenticated, "UNAUTHENTICATED"},
		{codes.DataLoss, "DATA_LOSS"},
	}
	for _, tt := range tests {
		if got := codeName(tt.code); got != tt.want {
			t.Errorf("codeName(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
