package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/testredis"
)

// replica is one gateway of a replicaSet with its gRPC clients and the
// Redis-related records of its log.
type replica struct {
	*gateway
	name      string
	c         client
	incidents defenderv1.IncidentServiceClient
	quota     defenderv1.QuotaServiceClient
	logs      *redisLog
}

// replicaSet is several gateways with one configuration, sharing one
// redis-server, in front of one emulator that enforces the documented
// limits.
type replicaSet struct {
	redis    *testredis.Server
	emu      *emulator.Emulator
	backend  string
	flags    []string
	replicas []*replica
}

// startReplicas starts redis-server (skipping the test without it, as
// testredis does), an emulator enforcing emulator.DocumentedLimits, and n
// gateways on backend with the documented quota defaults, Redis, a
// page-token key shared through Redis and a user cache key that seals the
// sign-ins shared there.
func startReplicas(t *testing.T, backend string, n int) *replicaSet {
	t.Helper()
	srv := testredis.Start(t)
	limits := emulator.DocumentedLimits()
	emu, err := emulator.Start(emulator.Options{Limits: &limits})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	userCacheKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	rs := &replicaSet{redis: srv, emu: emu, backend: backend, flags: []string{
		// A --quota- flag keeps the harness's roomy budgets away: the
		// documented defaults apply.
		"--quota-enabled=true",
		"--call-timeout", replicaCallTimeout.String(),
		"--redis-url", srv.URL(),
		"--redis-share-page-token-key=true",
		"--user-cache-key", userCacheKey,
	}}
	for range n {
		rs.start(t)
	}
	return rs
}

// start adds a replica, named by its place (A, B, ...).
func (rs *replicaSet) start(t *testing.T) *replica {
	t.Helper()
	name := string(rune('A' + len(rs.replicas)))
	cfg := appConfig(t, rs.emu, rs.backend, identity.ClientID, identity.ClientSecret, rs.flags...)
	logs := &redisLog{}
	g := startGatewayLogging(t, rs.emu, cfg, slog.New(logs))
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial replica %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	r := &replica{
		gateway: g, name: name, c: newGRPCClient(conn),
		incidents: defenderv1.NewIncidentServiceClient(conn),
		quota:     defenderv1.NewQuotaServiceClient(conn),
		logs:      logs,
	}
	rs.replicas = append(rs.replicas, r)
	return r
}

// api is the emulator's name of the set's backend.
func (rs *replicaSet) api() string {
	if rs.backend == "xdr" {
		return emulator.APIXDR
	}
	return emulator.APIGraph
}

// listStat is the emulator's counters of the home tenant's incident list.
func (rs *replicaSet) listStat() emulator.RouteStats {
	return rs.emu.RouteStat(rs.api(), identity.HomeTenantID, emulator.RouteIncidentList)
}

// wantUpstreamWithinLimits fails t if any route of the set's API got a
// 429 (from the emulator's limiter or a fault) or if any window of the
// documented limits ever held more requests than it allows.
func (rs *replicaSet) wantUpstreamWithinLimits(t *testing.T) {
	t.Helper()
	var seen bool
	for _, s := range rs.emu.Stats() {
		if s.API != rs.api() {
			continue
		}
		seen = true
		if s.Throttled() != 0 {
			t.Errorf("upstream %s %s: %d 429s (%d from the limiter); want none", s.API, s.Route, s.Throttled(), s.Limited)
		}
		for _, w := range s.Windows {
			if w.MaxAccepted > w.Count {
				t.Errorf("upstream %s %s: %d requests within %s; the documented limit is %d", s.API, s.Route, w.MaxAccepted, w.Per, w.Count)
			}
		}
	}
	if !seen {
		t.Errorf("the emulator counted no %s request", rs.api())
	}
}

// shared is what GetQuota on r reports of the home tenant's quota: its
// Shared field, after checking it is enabled and has budgets.
func (r *replica) shared(t *testing.T) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q, err := r.quota.GetQuota(ctx, &defenderv1.GetQuotaRequest{Name: home + "/quota"})
	mustOK(t, err)
	if !q.GetEnabled() || len(q.GetBudgets()) == 0 {
		t.Fatalf("GetQuota on replica %s = %v; want enabled with budgets", r.name, q)
	}
	return q.GetShared()
}

// loadResult counts the outcomes of one replica's callers.
type loadResult struct {
	// late are calls admitted upstream whose answer came after the call
	// timeout (DEADLINE_EXCEEDED "before the upstream answered").
	ok, exhausted, late int
	// other counts every other outcome by code and reason, with the first
	// message of each.
	other map[string]int
	first map[string]string
}

// refusalPause is how long a caller waits after a RESOURCE_EXHAUSTED
// before its next call. It keeps the offered load thousands of times the
// limit while sparing the CI box's two cores a busy loop.
const refusalPause = 50 * time.Millisecond

// load runs callers concurrent callers on every replica for d, each
// looping ListIncidents of the home tenant with its own page size (so no
// two calls of a replica coalesce). The gateway's call timeout
// (replicaCallTimeout) is each call's deadline: the caller's own is
// longer, so that it reads the gateway's status rather than its own
// timer's. It returns each replica's outcomes.
func (rs *replicaSet) load(callers int, d time.Duration) []loadResult {
	results := make([]loadResult, len(rs.replicas))
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for ri, r := range rs.replicas {
		results[ri] = loadResult{other: map[string]int{}, first: map[string]string{}}
		for ci := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					ctx, cancel := context.WithTimeout(context.Background(), replicaCallTimeout+5*time.Second)
					_, err := r.incidents.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: int32(ci + 1)})
					cancel()
					outcome, detail := classifyLoadOutcome(err)
					mu.Lock()
					res := &results[ri]
					switch outcome {
					case "ok":
						res.ok++
					case "exhausted":
						res.exhausted++
					case "late":
						res.late++
					default:
						if res.other[outcome] == 0 {
							res.first[outcome] = detail
						}
						res.other[outcome]++
					}
					mu.Unlock()
					if outcome != "ok" {
						time.Sleep(refusalPause)
					}
				}
			}()
		}
	}
	wg.Wait()
	return results
}

// classifyLoadOutcome is "ok", "exhausted" for the scheduler's refusal
// (RESOURCE_EXHAUSTED, reason QUOTA_EXHAUSTED, with a positive RetryInfo),
// "late" for an admitted call whose upstream answer came after its
// deadline, else the code and reason with the message as detail.
func classifyLoadOutcome(err error) (outcome, detail string) {
	if err == nil {
		return "ok", ""
	}
	st, ok := status.FromError(err)
	if !ok {
		return "not a status", err.Error()
	}
	reason := ""
	if info := errorInfo(st); info != nil {
		reason = info.GetReason()
	}
	delay, hasDelay := retryDelay(st)
	if st.Code() == codes.ResourceExhausted && reason == "QUOTA_EXHAUSTED" && hasDelay && delay > 0 {
		return "exhausted", ""
	}
	if st.Code() == codes.DeadlineExceeded && strings.Contains(st.Message(), "the deadline passed before the upstream answered") {
		return "late", ""
	}
	return fmt.Sprintf("%v %s (retry info %v %v)", st.Code(), reason, hasDelay, delay), st.Message()
}

// sum adds up results.
func sum(results []loadResult) loadResult {
	total := loadResult{other: map[string]int{}, first: map[string]string{}}
	for _, r := range results {
		total.ok += r.ok
		total.exhausted += r.exhausted
		total.late += r.late
		for k, n := range r.other {
			total.other[k] += n
			total.first[k] = r.first[k]
		}
	}
	return total
}

// wantOnlyOKAndExhausted fails t if any call of results ended otherwise
// than OK, the scheduler's RESOURCE_EXHAUSTED with RetryInfo, or
// (admitted, but answered too late) DEADLINE_EXCEEDED from the upstream
// request: no call may wait for quota past its deadline.
func wantOnlyOKAndExhausted(t *testing.T, results []loadResult) {
	t.Helper()
	for i, r := range results {
		for outcome, n := range r.other {
			t.Errorf("replica %c: %d calls ended %s, e.g. %q; want only OK and RESOURCE_EXHAUSTED QUOTA_EXHAUSTED with RetryInfo",
				'A'+i, n, outcome, r.first[outcome])
		}
	}
}

// untilAdmitted calls fn until the quota admits it, as a caller that
// honours RetryInfo does: a RESOURCE_EXHAUSTED QUOTA_EXHAUSTED is retried
// after its delay, for up to 30s. It returns fn's last error.
func untilAdmitted(t *testing.T, fn func(ctx context.Context) error) error {
	t.Helper()
	giveUp := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), replicaCallTimeout+5*time.Second)
		err := fn(ctx)
		cancel()
		st, _ := status.FromError(err)
		delay, ok := retryDelay(st)
		if err == nil || st.Code() != codes.ResourceExhausted || !ok || time.Now().Add(delay).After(giveUp) {
			return err
		}
		time.Sleep(delay)
	}
}

// redisLog is a slog.Handler keeping the messages of the records about
// Redis and where the quota state lives, the records an operator alerts
// on. The others (a request log line per call) are dropped.
type redisLog struct {
	mu   sync.Mutex
	msgs []string
}

func (h *redisLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *redisLog) Handle(_ context.Context, r slog.Record) error {
	if !strings.Contains(r.Message, "redis") {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Level.String()+" "+r.Message)
	return nil
}

func (h *redisLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *redisLog) WithGroup(string) slog.Handler      { return h }

// count is how many kept records contain s.
func (h *redisLog) count(s string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

func (h *redisLog) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.msgs, "\n")
}
