package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
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

// TestDrainCompletesInFlightAndCancelsQueuedCalls: on shutdown (what
// SIGTERM triggers in app.Main), calls already upstream complete, calls
// queued for quota end at once with UNAVAILABLE SHUTTING_DOWN over gRPC and
// REST alike, the gateway stops within its shutdown timeout, and no
// goroutine is left behind.
func TestDrainCompletesInFlightAndCancelsQueuedCalls(t *testing.T) {
	before := goleak.IgnoreCurrent() // what ran before this test is not its leak
	emu := startEmulator(t)
	quotaFile := filepath.Join(t.TempDir(), "quota.yaml")
	if err := os.WriteFile(quotaFile, []byte(drainQuota), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, emu, appConfig(t, emu, "xdr", identity.ClientID, identity.ClientSecret, "--quota-file", quotaFile))
	conn := quotaConn(t, g)
	incidents := defenderv1.NewIncidentServiceClient(conn)
	rest := newRESTClient(&http.Client{Timeout: 30 * time.Second}, "http://"+g.httpAddr)

	// The token is fetched before; the two calls of the burst are slow
	// upstream, so they are in flight when the drain starts.
	emu.InjectFault(emulator.Fault{API: emulator.APIXDR, PathPrefix: "/api/incidents", Delay: 2 * time.Second, Times: 2})
	type result struct {
		via string
		err error
	}
	results := make(chan result, 8)
	call := func(via string, c func(context.Context, *defenderv1.ListIncidentsRequest) error, size int32) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			results <- result{via, c(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: size})}
		}()
	}
	viaGRPC := func(ctx context.Context, r *defenderv1.ListIncidentsRequest) error {
		_, err := incidents.ListIncidents(ctx, r)
		return err
	}
	viaREST := func(ctx context.Context, r *defenderv1.ListIncidentsRequest) error {
		_, err := rest.ListIncidents(ctx, r)
		return err
	}
	for i := range 2 {
		call("in flight", viaGRPC, int32(i+1))
	}
	waitFor(t, "both slow calls upstream", func() bool {
		return emu.RouteStat(emulator.APIXDR, identity.HomeTenantID, emulator.RouteIncidentList).Accepted == 2
	})
	for i := range 4 {
		call("queued grpc", viaGRPC, int32(10+i))
	}
	for i := range 2 {
		call("queued rest", viaREST, int32(20+i))
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

	stopped := time.Now()
	g.stop()
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
	if inFlight != 2 || queued != 6 {
		t.Errorf("%d in-flight calls completed and %d queued calls cancelled, want 2 and 6", inFlight, queued)
	}
	select {
	case err := <-g.done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
		g.done <- nil // for the cleanup's check
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not stop after draining")
	}
	if d := time.Since(stopped); d > 5*time.Second {
		t.Errorf("the drain took %v, longer than the 5s shutdown timeout", d)
	}
	if n := emu.RouteStat(emulator.APIXDR, identity.HomeTenantID, emulator.RouteIncidentList).Accepted; n != 2 {
		t.Errorf("the upstream served %d list calls, want only the 2 in flight: a cancelled call must not go upstream", n)
	}

	// Nothing of the gateway is left running.
	conn.Close()
	emu.Close()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	goleak.VerifyNone(t,
		before,
		goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("internal/poll.runtime_pollWait"),
	)
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
