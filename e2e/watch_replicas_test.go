package e2e

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/testredis"
)

// pollerLog is what a replica logs when it takes a tenant's poller lease.
const pollerLog = "this replica polls for the tenant"

// TestWatchReplicasShareOnePoller: three gateway processes sharing a
// redis-server, with watchers on each. The upstream sees one poller's
// listings in total, not three; every watcher on every replica gets every
// change. When the polling replica is killed (SIGKILL: no drain, its lease
// not released), another takes the lease within the lease TTL and goes on
// from the last published watermark: a change made in the gap reaches the
// surviving watchers, and a watcher of the killed replica that resumes on
// another with its last cursor gets it too.
func TestWatchReplicasShareOnePoller(t *testing.T) {
	srv := testredis.Start(t)
	emu := startEmulator(t)
	const interval = 200 * time.Millisecond
	flags := append(append([]string{}, watchFlags...),
		"--watch-poll-interval", interval.String(), "--watch-lease-ttl", "3s",
		"--redis-url", srv.URL(), "--redis-share-page-token-key=true")
	var replicas []*gatewayProcess
	for range 3 {
		replicas = append(replicas, startGatewayProcess(t, emu, "graph", flags...))
	}
	watchers := map[*gatewayProcess][]*watchStream{}
	for _, r := range replicas {
		for range 5 {
			w := watchGRPC(t, r.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default"})
			w.heartbeat(t)
			watchers[r] = append(watchers[r], w)
		}
	}
	listingRate := func() float64 {
		emu.ResetStats()
		start := time.Now()
		time.Sleep(3 * time.Second)
		n := emu.RouteStat(emulator.APIGraph, identity.HomeTenantID, emulator.RouteIncidentList).Accepted
		return float64(n) / time.Since(start).Seconds()
	}
	onePoller := float64(time.Second) / float64(interval)
	wantOnePoller := func(when string) {
		t.Helper()
		rate := listingRate()
		t.Logf("%s: %.1f incident listings/s (one poller: about %.0f)", when, rate, onePoller)
		if rate < onePoller/3 || rate > onePoller*1.5 {
			t.Errorf("%s: %.1f listings/s, want one poller's %.0f", when, rate, onePoller)
		}
	}
	wantOnePoller("three replicas")
	leader := onlyLeader(t, replicas)

	change := func(id int64, what string) {
		t.Helper()
		if _, err := emu.UpdateIncident(identity.HomeTenantID, id, store.Patch{Comment: what, Author: "portal"}); err != nil {
			t.Fatal(err)
		}
	}
	change(1000, "before the failover")
	for _, r := range replicas {
		for _, w := range watchers[r] {
			w.change(t, "the change, on every replica", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_UPDATED, "1000"))
		}
	}

	// Kill the poller, and change an incident before anyone took over.
	orphan := watchers[leader][0]
	leader.kill(t)
	change(1001, "in the failover gap")
	wantStatus(t, orphan.ended(t), codes.Unavailable, "")
	var survivors []*gatewayProcess
	for _, r := range replicas {
		if r != leader {
			survivors = append(survivors, r)
		}
	}
	start := time.Now()
	waitFor(t, "a surviving replica to take the poller lease", func() bool {
		for _, r := range survivors {
			if r.logHas(t, pollerLog) {
				return true
			}
		}
		return false
	})
	t.Logf("a surviving replica polls %s after the kill", time.Since(start).Round(100*time.Millisecond))
	if d := time.Since(start); d > 3*time.Second+3*time.Second {
		t.Errorf("the takeover took %s, want within the 3s lease TTL and a few seconds", d)
	}
	for _, r := range survivors {
		for _, w := range watchers[r] {
			w.change(t, "the change made in the gap, on a survivor", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_UPDATED, "1001"))
		}
	}
	resumed := watchGRPC(t, survivors[0].grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: orphan.cursor})
	resumed.change(t, "the change made in the gap, after resuming elsewhere", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_UPDATED, "1001"))
	onlyLeader(t, survivors)
	wantOnePoller("after the failover")
}

// onlyLeader returns the one replica that logged taking the poller lease,
// failing t unless there is exactly one.
func onlyLeader(t *testing.T, replicas []*gatewayProcess) *gatewayProcess {
	t.Helper()
	var leaders []*gatewayProcess
	for _, r := range replicas {
		if r.logHas(t, pollerLog) {
			leaders = append(leaders, r)
		}
	}
	if len(leaders) != 1 {
		for i, r := range replicas {
			t.Logf("replica %d log:\n%.3000s", i, r.log(t))
		}
		t.Fatalf("%d replicas took the poller lease, want 1", len(leaders))
	}
	return leaders[0]
}
