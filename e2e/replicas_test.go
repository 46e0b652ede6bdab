package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/quota"
	"github.com/defender-gateway/gateway/internal/quota/redisstore"
)

// The load of TestReplicas: far above the limit, which lets one call in
// every 1.33s through after a burst of a few. Every call has the
// gateway's call timeout as its deadline.
const (
	replicaCount       = 3
	replicaCallers     = 20
	replicaLoad        = 8 * time.Second
	replicaLost        = 5 * time.Second
	replicaCallTimeout = time.Second
)

// TestReplicas is issue 8's proof of Redis mode, end to end: three
// gateways with one configuration share a real redis-server, in front of
// one emulator tenant that enforces the documented limits. A page token
// and a device-code sign-in of one replica work on the others; under a
// load far above the limit the three spend one budget between them, with
// no upstream 429; when Redis is stopped each keeps serving its local
// share, says so, and returns to the shared budget when Redis is back.
// The steps run in order on the same replicas, for each backend.
func TestReplicas(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { testReplicas(t, backend) })
	}
}

func testReplicas(t *testing.T, backend string) {
	rs := startReplicas(t, backend, replicaCount)
	a, b, c := rs.replicas[0], rs.replicas[1], rs.replicas[2]
	for _, r := range rs.replicas {
		if r.logs.count("quota state is shared through redis") != 1 {
			t.Errorf("replica %s's start log does not say the quota is shared:\n%s", r.name, r.logs)
		}
		if !r.shared(t) {
			t.Errorf("GetQuota on replica %s: shared false with Redis up", r.name)
		}
	}
	// The documented window of the loaded family, and the GCRA the
	// scheduler derives from it.
	window := quota.DefaultBudgets().For(identity.HomeTenantID, rs.backend).Families[quota.FamilyIncidentRead][0]
	limit := quota.SafeLimit(window.Count, window.Per)

	// list is ListIncidents on r with the headers kv, retried as RetryInfo
	// says while the quota refuses it.
	list := func(t *testing.T, r *replica, req *defenderv1.ListIncidentsRequest, kv ...string) *defenderv1.ListIncidentsResponse {
		t.Helper()
		var resp *defenderv1.ListIncidentsResponse
		mustOK(t, untilAdmitted(t, func(ctx context.Context) (err error) {
			resp, err = r.incidents.ListIncidents(withHeaders(ctx, kv...), req)
			return err
		}))
		return resp
	}

	var next *defenderv1.ListIncidentsRequest // A's second page
	t.Run("a page token of A continues the listing on B and C", func(t *testing.T) {
		first := list(t, a, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 3})
		if first.GetNextPageToken() == "" || len(first.GetIncidents()) != 3 {
			t.Fatalf("A's first page: %d incidents, next token %q", len(first.GetIncidents()), first.GetNextPageToken())
		}
		next = &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 3, PageToken: first.GetNextPageToken()}
		onB := list(t, b, next)
		onC := list(t, c, next)
		if got, want := ids(onC.GetIncidents()), ids(onB.GetIncidents()); got != want || len(onB.GetIncidents()) != 3 {
			t.Errorf("the second page is %s on B and %s on C; want the same 3 incidents", want, got)
		}
		for _, in := range onB.GetIncidents() {
			if strings.Contains(ids(first.GetIncidents()), in.GetName()) {
				t.Errorf("B's second page repeats %s of the first", in.GetName())
			}
		}
	})

	t.Run("a device sign-in on A serves calls on B and C", func(t *testing.T) {
		dl := deviceLogin(t, a.c, home)
		if err := rs.emu.Entra().ApproveDeviceCode(dl.GetUserCode(), identity.AliceUPN); err != nil {
			t.Fatal(err)
		}
		if got := waitDeviceLogin(t, a.c, dl.GetName()); got.GetState() != defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_COMPLETED {
			t.Fatalf("the sign-in on A = %v", got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, r := range []*replica{b, c} {
			asAlice := withHeaders(ctx, "x-defender-account", identity.AliceUPN)
			who, err := r.c.WhoAmI(asAlice, &defenderv1.WhoAmIRequest{Tenant: home})
			mustOK(t, err)
			if who.GetContext() != "contexts/user/accounts/"+strings.ToLower(identity.AliceUPN) || who.GetUpstreamIdentity() != identity.AliceUPN {
				t.Errorf("WhoAmI as alice on replica %s = %v; want her signed-in account", r.name, who)
			}
			// The emulator shows alice the incidents of even id only: the
			// call went upstream with her token, not the app's.
			page := list(t, r, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 10}, "x-defender-account", identity.AliceUPN)
			if len(page.GetIncidents()) == 0 {
				t.Errorf("alice's listing on replica %s is empty", r.name)
			}
			for _, in := range page.GetIncidents() {
				if id, _ := strconv.Atoi(in.GetId()); id%2 != 0 {
					t.Errorf("alice's listing on replica %s shows %s, outside her scope: it did not run as her", r.name, in.GetName())
				}
			}
		}
		// An account nobody signed in is still unknown on every replica.
		_, err := b.c.ListIncidents(withHeaders(ctx, "x-defender-account", identity.BobUPN), &defenderv1.ListIncidentsRequest{Parent: home})
		wantStatus(t, err, codes.FailedPrecondition, "ACCOUNT_NOT_SIGNED_IN")
	})

	t.Run("under load the replicas spend one budget", func(t *testing.T) {
		before, start := rs.listStat().Accepted, time.Now()
		results := rs.load(replicaCallers, replicaLoad)
		elapsed := time.Since(start)
		upstream := rs.listStat().Accepted - before
		total := sum(results)
		shared, alone := conforming(limit, elapsed), replicaCount*conforming(limit, elapsed)
		t.Logf("%d replicas × %d callers for %s: %d OK, %d RESOURCE_EXHAUSTED, %d admitted but answered after the deadline; %d upstream list calls (one shared budget allows at most %d, %d replicas on their own %d)",
			replicaCount, replicaCallers, elapsed.Round(time.Millisecond), total.ok, total.exhausted, total.late, upstream, shared, replicaCount, alone)
		wantOnlyOKAndExhausted(t, results)
		if total.ok == 0 || total.exhausted < 10*total.ok {
			t.Errorf("%d OK and %d RESOURCE_EXHAUSTED; want some of each, far more refused than served", total.ok, total.exhausted)
		}
		// The emulator's count is what went upstream: every OK is one of
		// them, and all of them are within the one budget. (A late call may
		// have been upstream, or, on a CPU-starved box, have timed out in
		// the queue before the scheduler could refuse it: it is not
		// counted as admitted.)
		if upstream < total.ok || upstream > shared {
			t.Errorf("%d upstream list calls, %d admitted calls (%d OK); want at least one upstream call per OK and at most %d of either, what one budget shared by the replicas admits in %s",
				upstream, total.ok+total.late, total.ok, shared, elapsed.Round(time.Millisecond))
		}
		rs.wantUpstreamWithinLimits(t)
	})

	t.Run("Redis lost: each replica serves its local share", func(t *testing.T) {
		rs.redis.Stop()
		before, start := rs.listStat().Accepted, time.Now()
		results := rs.load(replicaCallers, replicaLost)
		elapsed := time.Since(start)
		upstream := rs.listStat().Accepted - before
		local := redisstore.ScaleLimit(limit, replicaCount)
		bound := replicaCount * conforming(local, elapsed)
		total := sum(results)
		t.Logf("Redis down, %s: %d OK, %d RESOURCE_EXHAUSTED, %d admitted but answered after the deadline; %d upstream list calls (%d local shares of %d/%s, burst %d, allow at most %d)",
			elapsed.Round(time.Millisecond), total.ok, total.exhausted, total.late, upstream, replicaCount, local.Rate, local.Per, local.Burst, bound)
		wantOnlyOKAndExhausted(t, results)
		for i, r := range rs.replicas {
			if results[i].ok == 0 {
				t.Errorf("replica %s served no call with Redis down (%d refused); want its local share served", r.name, results[i].exhausted)
			}
			if n := r.logs.count("redis lost: quota falls back to a local share of 1/" + strconv.Itoa(replicaCount)); n != 1 {
				t.Errorf("replica %s logged the loss with a share of 1/%d %d times; want once:\n%s", r.name, replicaCount, n, r.logs)
			}
			if r.shared(t) {
				t.Errorf("GetQuota on replica %s: shared true with Redis down", r.name)
			}
		}
		if upstream < total.ok || upstream > bound {
			t.Errorf("%d upstream list calls, %d admitted calls (%d OK) with Redis down; want at least one upstream call per OK and at most %d of either",
				upstream, total.ok+total.late, total.ok, bound)
		}
		rs.wantUpstreamWithinLimits(t)
	})

	t.Run("Redis back: the replicas share the budget again, and their page-token key", func(t *testing.T) {
		rs.redis.Restart()
		for _, r := range rs.replicas {
			waitFor(t, "replica "+r.name+" to report shared quota", func() bool { return r.shared(t) })
			if n := r.logs.count("redis recovered: quota is shared through redis again"); n != 1 {
				t.Errorf("replica %s logged the recovery %d times; want once:\n%s", r.name, n, r.logs)
			}
		}
		// A call now takes its unit from the limiter in the restarted
		// (empty) Redis, not from a local share.
		list(t, b, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 7})
		ctx := context.Background()
		rdb := redis.NewClient(&redis.Options{Addr: rs.redis.Addr()})
		defer rdb.Close()
		keys, err := rdb.Keys(ctx, config.DefaultRedisKeyPrefix+"rate:*"+string(quota.FamilyIncidentRead)+"*").Result()
		if err != nil || len(keys) == 0 {
			t.Errorf("the restarted Redis holds no incident-read limiter after a call (%v, %v)", keys, err)
		}
		// The running replicas store their page-token key back into the
		// empty Redis, so a replica started now accepts A's token.
		waitFor(t, "the page-token key back in Redis", func() bool {
			return rdb.Exists(ctx, config.DefaultRedisKeyPrefix+"page-token-key").Val() == 1
		})
		d := rs.start(t)
		if next == nil {
			t.Fatal("no page token of A (its step failed)")
		}
		if page := list(t, d, next); len(page.GetIncidents()) != 3 {
			t.Errorf("A's token on replica D, started after the restart: %d incidents; want 3", len(page.GetIncidents()))
		}
		rs.wantUpstreamWithinLimits(t)
	})
}

// conforming is the most calls a GCRA of l admits in d: its burst, the
// cells its rate frees in d, and one more for redis_rate's rounding (see
// quotatest.StoreConformance's RemainingSlack).
func conforming(l quota.Limit, d time.Duration) int {
	return l.Burst + int(int64(d)*int64(l.Rate)/int64(l.Per)) + 1
}

// ids lists incidents' names, for comparisons and messages.
func ids(in []*defenderv1.Incident) string {
	names := make([]string, len(in))
	for i, x := range in {
		names[i] = x.GetName()
	}
	return strings.Join(names, ",")
}
