package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// economyDelay slows every upstream listing down so that a wave of
// identical calls overlaps: without it the emulator answers in a few
// milliseconds, before the last call of a wave has arrived.
const economyDelay = 300 * time.Millisecond

// TestUpstreamEconomy: N identical concurrent readers (N = 1, 10, 100)
// cost how many upstream calls, with coalescing (DEFENDER_COALESCE_READS)
// and with the read cache (DEFENDER_CACHE_TTL_INCIDENT_READ) on and off.
// Each setting runs two waves of N: the second, after the first has ended,
// shows the cache (all from it) against coalescing alone (a new upstream
// call: coalescing shares only calls in flight together). The figures are
// in docs/benchmarks.md ("Upstream economy").
func TestUpstreamEconomy(t *testing.T) {
	settings := []struct {
		name            string
		flags           []string
		coalesce, cache bool
	}{
		{"coalescing off", []string{"--coalesce-reads=false"}, false, false},
		{"coalescing", nil, true, false},
		{"cache alone", []string{"--coalesce-reads=false", "--cache-ttl-incident-read", "1m"}, false, true},
		{"coalescing and cache", []string{"--cache-ttl-incident-read", "1m"}, true, true},
	}
	for _, backend := range backends {
		api, listPath := emulator.APIGraph, "/v1.0/security/incidents"
		if backend == "xdr" {
			api, listPath = emulator.APIXDR, "/api/incidents"
		}
		for _, s := range settings {
			t.Run(backend+"/"+s.name, func(t *testing.T) {
				emu := startEmulator(t)
				emu.InjectFault(emulator.Fault{API: api, PathPrefix: listPath, Delay: economyDelay})
				g := startGateway(t, emu, appConfig(t, emu, backend, identity.ClientID, identity.ClientSecret, s.flags...))
				conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close() })
				client := defenderv1.NewIncidentServiceClient(conn)
				upstream := func() int { return emu.RouteStat(api, identity.HomeTenantID, emulator.RouteIncidentList).Accepted }

				for i, n := range []int{1, 10, 100} {
					emu.ResetStats()
					// Each N lists its own (small) page size: a request of
					// its own, which an earlier N's cached page cannot serve.
					economyWave(t, client, n, i+1)
					first := upstream()
					economyWave(t, client, n, i+1)
					second := upstream() - first
					t.Logf("%s %s N=%d: %d upstream calls, then %d for a second wave", backend, s.name, n, first, second)

					// Coalescing off: one upstream call per reader. On: the
					// readers in flight together share one (two allow for a
					// reader arriving as the first call ends).
					wantMax, wantMin := n, n
					if s.coalesce {
						wantMax, wantMin = min(n, 2), 1
					}
					if first < wantMin || first > wantMax {
						t.Errorf("N=%d: %d upstream calls, want %d to %d", n, first, wantMin, wantMax)
					}
					// The second wave: all from the cache, else as the first.
					if s.cache {
						wantMin, wantMax = 0, 0
					}
					if second < wantMin || second > wantMax {
						t.Errorf("N=%d, second wave: %d upstream calls, want %d to %d", n, second, wantMin, wantMax)
					}
				}
			})
		}
	}
}

// economyWave starts n identical ListIncidents of pageSize at once and
// waits for all; every one must succeed with a full page.
func economyWave(t *testing.T, client defenderv1.IncidentServiceClient, n, pageSize int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			resp, err := client.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: int32(pageSize)}) //nolint:gosec // 1 to 3
			if err == nil && len(resp.GetIncidents()) != pageSize {
				err = fmt.Errorf("%d incidents, want %d", len(resp.GetIncidents()), pageSize)
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("reader %d of %d: %v", i, n, err)
		}
	}
}
