package e2e

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/testredis"
)

// TestWatchAlertsReplicasShareOnePoller: three gateway processes sharing a
// redis-server, with alert watchers on each. The upstream sees one
// poller's alert listings in total, not three; an alert changed upstream
// reaches every watcher on every replica. When the polling replica is
// killed (SIGKILL: no drain, its lease not released), another takes the
// lease within the lease TTL and goes on from the last published
// watermark: an alert changed in the gap reaches the surviving watchers,
// and a watcher of the killed replica that resumes on another with its
// last cursor gets it too.
func TestWatchAlertsReplicasShareOnePoller(t *testing.T) {
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
	gw := func(r *gatewayProcess) *gateway { return &gateway{grpcAddr: r.grpcAddr, httpAddr: r.httpAddr} }
	ids := someAlertIDs(t, gw(replicas[0]).clients(t)[0])
	watchers := map[*gatewayProcess][]*alertWatch{}
	for _, r := range replicas {
		for _, transport := range []string{"grpc", "grpc", "rest"} {
			w := openAlertWatch(t, gw(r), transport, &defenderv1.WatchAlertsRequest{Parent: home})
			w.heartbeat(t)
			watchers[r] = append(watchers[r], w)
		}
	}
	listingRate := func() float64 {
		emu.ResetStats()
		start := time.Now()
		time.Sleep(3 * time.Second)
		n := emu.RouteStat(emulator.APIGraph, identity.HomeTenantID, emulator.RouteAlertList).Accepted
		return float64(n) / time.Since(start).Seconds()
	}
	onePoller := float64(time.Second) / float64(interval)
	wantOnePoller := func(when string) {
		t.Helper()
		rate := listingRate()
		t.Logf("%s: %.1f alert listings/s (one poller: about %.0f)", when, rate, onePoller)
		if rate < onePoller/3 || rate > onePoller*1.5 {
			t.Errorf("%s: %.1f alert listings/s, want one poller's %.0f", when, rate, onePoller)
		}
	}
	wantOnePoller("three replicas")
	leader := onlyLeader(t, replicas)

	touchAlert(t, emu, identity.HomeTenantID, ids[0], "before the failover")
	for _, r := range replicas {
		for _, w := range watchers[r] {
			w.change(t, "the alert change, on every replica", alertChangeOf(ids[0], nil))
		}
	}
	// Once: no watcher gets the change a second time (say from another
	// replica's poller) while the next heartbeats go by; the streams buffer
	// what arrives meanwhile.
	time.Sleep(2 * time.Second)
	for _, r := range replicas {
		for _, w := range watchers[r] {
			w.noChangeOf(t, ids[0], 100*time.Millisecond)
		}
	}

	// Kill the poller, and change an alert before anyone took over.
	orphan := watchers[leader][0]
	leader.kill(t)
	touchAlert(t, emu, identity.HomeTenantID, ids[1], "in the failover gap")
	wantStatus(t, orphan.ended(t), codes.Unavailable, "")
	var survivors []*gatewayProcess
	for _, r := range replicas {
		if r != leader {
			survivors = append(survivors, r)
		}
	}
	start := time.Now()
	waitFor(t, "a surviving replica to take the alert poller lease", func() bool {
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
			w.change(t, "the alert changed in the gap, on a survivor", alertChangeOf(ids[1], nil))
		}
	}
	resumed := openAlertWatch(t, gw(survivors[0]), "grpc", &defenderv1.WatchAlertsRequest{Parent: home, Cursor: orphan.cursor})
	resumed.change(t, "the alert changed in the gap, after resuming elsewhere", alertChangeOf(ids[1], nil))
	onlyLeader(t, survivors)
	wantOnePoller("after the failover")
}

// noChangeOf fails t if a change of the alert id arrives within d.
func (w *alertWatch) noChangeOf(t testing.TB, id string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-w.msgs:
			w.cursor = m.GetCursor()
			if c := m.GetChange(); c != nil && c.GetAlert().GetId() == id {
				t.Errorf("the change of alert %s arrived twice on one watcher", id)
			}
		case err := <-w.end:
			t.Fatalf("the alert watch ended (%v)", err)
		case <-deadline:
			return
		}
	}
}
