package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/app"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// drainQuota is a tight incident-read budget: 20 a minute is a burst of 2,
// then one call every 3.3 s (quota.SafeLimit), so that a handful of calls
// queue in the scheduler for seconds.
const drainQuota = `backends:
  xdr:
    incident-read: [{count: 20, per: 1m}]
    whole-api: [{count: 100000, per: 1m}]
`

// TestSIGTERMDrainsInFlightAndCancelsQueuedCalls: SIGTERM to a running
// gateway (app.Main, as the binary runs it, in sandbox mode) with calls
// upstream and calls queued for quota. The calls upstream complete, the
// queued ones end at once with UNAVAILABLE SHUTTING_DOWN over gRPC and REST
// alike and never go upstream, the process exits 0 within its shutdown
// timeout, and no goroutine is left behind.
func TestSIGTERMDrainsInFlightAndCancelsQueuedCalls(t *testing.T) {
	before := goleak.IgnoreCurrent() // what ran before this test is not its leak
	quotaFile := filepath.Join(t.TempDir(), "quota.yaml")
	if err := os.WriteFile(quotaFile, []byte(drainQuota), 0o600); err != nil {
		t.Fatal(err)
	}
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "gateway.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	exit := make(chan int, 1)
	go func() {
		exit <- app.Main(context.Background(), []string{"--sandbox", "--backend", "xdr",
			"--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--shutdown-timeout", "5s", "--quota-file", quotaFile},
			func(string) string { return "" }, strings.NewReader(""), out, out)
	}()
	base := "http://" + httpAddr
	waitFor(t, "the sandbox to be healthy", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	incidents := defenderv1.NewIncidentServiceClient(conn)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	rest := newRESTClient(hc, base)

	// The two calls of the budget's burst are slow upstream, so they are in
	// flight when SIGTERM comes; six more queue for quota behind them.
	controlPost(t, base+"/sandbox/emulator/faults", `{"api":"xdr","pathPrefix":"/api/incidents","delay":"2s","times":2}`)
	type result struct {
		via string
		err error
	}
	results := make(chan result, 8)
	call := func(via string, size int32) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			r := &defenderv1.ListIncidentsRequest{Parent: home, PageSize: size}
			var err error
			if via == "queued rest" {
				_, err = rest.ListIncidents(ctx, r)
			} else {
				_, err = incidents.ListIncidents(ctx, r)
			}
			results <- result{via, err}
		}()
	}
	for i := range 2 {
		call("in flight", int32(i+1))
	}
	waitFor(t, "both slow calls upstream", func() bool { return acceptedLists(t, base) == 2 })
	for i := range 4 {
		call("queued grpc", int32(10+i))
	}
	for i := range 2 {
		call("queued rest", int32(20+i))
	}
	waitFor(t, "six calls queued", func() bool {
		q, err := defenderv1.NewQuotaServiceClient(conn).GetQuota(context.Background(), &defenderv1.GetQuotaRequest{Name: home + "/quota"})
		if err != nil {
			return false
		}
		for _, b := range q.GetBudgets() {
			if b.GetFamily() == defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_READ && b.GetQueued() == 6 {
				return true
			}
		}
		return false
	})
	accepted := acceptedLists(t, base)

	stopped := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	inFlight, queued := 0, 0
	for range 8 {
		r := <-results
		if r.via == "in flight" {
			mustOK(t, r.err)
			inFlight++
			continue
		}
		wantStatus(t, r.err, codes.Unavailable, "SHUTTING_DOWN")
		queued++
	}
	if inFlight != 2 || queued != 6 || accepted != 2 {
		t.Errorf("%d in-flight calls completed and %d queued calls cancelled, %d upstream: want 2, 6 and only the 2", inFlight, queued, accepted)
	}
	select {
	case code := <-exit:
		if code != 0 {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("app.Main exited %d after SIGTERM:\n%s", code, log)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not stop after draining")
	}
	if d := time.Since(stopped); d > 5*time.Second {
		t.Errorf("the drain took %v, longer than the 5s shutdown timeout", d)
	}

	// Nothing of the gateway is left running.
	conn.Close()
	hc.CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	goleak.VerifyNone(t, append([]goleak.Option{before}, leakIgnores...)...)
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

// controlPost posts body to the sandbox's emulator control API.
func controlPost(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: HTTP %d %s", url, resp.StatusCode, b)
	}
}

// acceptedLists is how many XDR incident listings of the home tenant the
// sandbox's emulator served, from its control API.
func acceptedLists(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/sandbox/emulator/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats []struct {
		API      string `json:"api"`
		TenantID string `json:"tenantId"`
		Route    string `json:"route"`
		Accepted int    `json:"accepted"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if s.API == emulator.APIXDR && s.TenantID == identity.HomeTenantID && s.Route == emulator.RouteIncidentList {
			return s.Accepted
		}
	}
	return 0
}

// waitFor polls cond every 10 ms for up to 10 s and fails t if it never
// holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", strings.TrimSpace(what))
}
