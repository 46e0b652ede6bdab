package e2e

import (
	"testing"
	"time"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/testredis"
)

// TestWatchAcrossTenantsOnReplicas: two gateway processes sharing a
// redis-server, each with a watch of tenants/-. Fabrikam's upstream sees
// one poller's listings, not two; a change in fabrikam reaches both
// watches; and the cursor of one replica's watch resumes on the other
// without losing the changes made in between.
func TestWatchAcrossTenantsOnReplicas(t *testing.T) {
	srv := testredis.Start(t)
	emu := startEmulator(t)
	const interval = 200 * time.Millisecond
	flags := partnerWatchFlags("--watch-poll-interval", interval.String(), "--watch-lease-ttl", "3s",
		"--redis-url", srv.URL(), "--redis-share-page-token-key=true")
	var replicas []*gatewayProcess
	var watchers []*watchStream
	for range 2 {
		r := startGatewayProcess(t, emu, "graph", flags...)
		replicas = append(replicas, r)
		w := watchGRPC(t, r.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: everyTenant})
		w.heartbeat(t)
		watchers = append(watchers, w)
	}
	emu.ResetStats()
	start := time.Now()
	time.Sleep(3 * time.Second)
	rate := float64(emu.RouteStat(emulator.APIGraph, identity.SecondTenantID, emulator.RouteIncidentList).Accepted) / time.Since(start).Seconds()
	onePoller := float64(time.Second) / float64(interval)
	t.Logf("fabrikam: %.1f incident listings/s (one poller: about %.0f)", rate, onePoller)
	if rate < onePoller/3 || rate > onePoller*1.5 {
		t.Errorf("fabrikam: %.1f listings/s with a watch of tenants/- on each of two replicas, want one poller's %.0f", rate, onePoller)
	}

	live := createIn(t, emu, identity.SecondTenantID, "on both replicas")
	for _, w := range watchers {
		changesNamed(t, w, "fabrikam's change, on both replicas", live)
	}
	cursor := watchers[0].cursor
	watchers[0].cancel()
	away := []string{createIn(t, emu, identity.HomeTenantID, "away home"), createIn(t, emu, identity.SecondTenantID, "away fabrikam")}
	resumed := watchGRPC(t, replicas[1].grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: everyTenant, Cursor: cursor})
	changesNamed(t, resumed, "the changes made while away, resumed on the other replica", away...)
}
