package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// The quota tests run the gateway with its real, documented budgets
// (--quota-enabled=true keeps the harness's roomy ones away) against an
// emulator that enforces Microsoft's documented limits itself: a call the
// gateway lets through beyond them would come back as a 429.

// startLimitedEmulator starts an emulator enforcing the documented limits.
func startLimitedEmulator(t testing.TB) *emulator.Emulator {
	t.Helper()
	limits := emulator.DocumentedLimits()
	emu, err := emulator.Start(emulator.Options{Limits: &limits})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// quotaConn is a gRPC connection to g for the quota and incident services.
func quotaConn(t testing.TB, g *gateway) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// burst sends n concurrent ListIncidents, each with its own page size (so
// that no two coalesce into one upstream call) and deadline, and returns
// their errors.
func burst(c defenderv1.IncidentServiceClient, n int, deadline time.Duration) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			_, errs[i] = c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: int32(i + 1)})
		}()
	}
	wg.Wait()
	return errs
}

// wantQuotaExhausted fails t unless err is the scheduler's refusal: a
// RESOURCE_EXHAUSTED QUOTA_EXHAUSTED with a RetryInfo within (0, max].
func wantQuotaExhausted(t *testing.T, err error, max time.Duration) {
	t.Helper()
	st := wantStatus(t, err, codes.ResourceExhausted, "QUOTA_EXHAUSTED")
	delay, ok := retryDelay(st)
	if !ok || delay <= 0 || delay > max {
		t.Errorf("RetryInfo delay = %v (present %v), want within (0, %v]", delay, ok, max)
	}
}

// TestQuotaKeepsUpstreamWithinTheDocumentedLimits: a burst far above the
// per-minute limit gets the budget's burst through at once, and every other
// call a prompt RESOURCE_EXHAUSTED with RetryInfo without going upstream;
// the upstream never answers 429 and never sees more than its limit.
func TestQuotaKeepsUpstreamWithinTheDocumentedLimits(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startLimitedEmulator(t)
			g := startGateway(t, emu, appConfig(t, emu, backend, identity.ClientID, identity.ClientSecret, "--quota-enabled=true"))
			incidents := defenderv1.NewIncidentServiceClient(quotaConn(t, g))

			_, err := incidents.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1})
			mustOK(t, err) // the token is cached; one call of the burst is used
			// A deadline shorter than the 1.33 s between calls after the
			// burst: the calls the burst admits have all of it to complete.
			const n = 40
			errs := burst(incidents, n, 1200*time.Millisecond)
			ok := 1
			for _, err := range errs {
				if err == nil {
					ok++
					continue
				}
				wantQuotaExhausted(t, err, time.Minute)
			}
			// The incident-read budget is 50 a minute: a burst of 5, then
			// one call every 1.33 s (quota.SafeLimit).
			if ok < 3 || ok > 7 {
				t.Errorf("%d of %d calls succeeded, want about the burst of 5", ok, n+1)
			}
			stat := emu.RouteStat(backend, identity.HomeTenantID, emulator.RouteIncidentList)
			if stat.Throttled() != 0 {
				t.Errorf("the upstream answered %d 429s, want none", stat.Throttled())
			}
			if stat.Accepted != ok {
				t.Errorf("the upstream served %d list calls, want exactly the %d that succeeded: a refused call must not go upstream", stat.Accepted, ok)
			}
			for _, w := range stat.Windows {
				if w.MaxAccepted > w.Count {
					t.Errorf("window %v: %d calls upstream, limit %d", w.Per, w.MaxAccepted, w.Count)
				}
			}

			// Over REST the same refusal is a 429 with Retry-After.
			req, err := http.NewRequest(http.MethodGet, "http://"+g.httpAddr+"/v1/"+home+"/incidents?pageSize=77", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Grpc-Timeout", "500m")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Code    int `json:"code"`
				Details []struct {
					Type       string `json:"@type"`
					Reason     string `json:"reason"`
					RetryDelay string `json:"retryDelay"`
				} `json:"details"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusTooManyRequests || body.Code != int(codes.ResourceExhausted) {
				t.Fatalf("REST call beyond the budget: HTTP %d code %d, want 429 RESOURCE_EXHAUSTED", resp.StatusCode, body.Code)
			}
			secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || secs < 1 || secs > 60 {
				t.Errorf("Retry-After = %q, want whole seconds in [1, 60]", resp.Header.Get("Retry-After"))
			}
			var reason, delay string
			for _, d := range body.Details {
				reason, delay = reason+d.Reason, delay+d.RetryDelay
			}
			if reason != "QUOTA_EXHAUSTED" || delay == "" {
				t.Errorf("REST details: reason %q retryDelay %q, want QUOTA_EXHAUSTED and a delay", reason, delay)
			}
		})
	}
}

// TestQuotaOffLetsUpstream429sThrough is the contrast: with the scheduler
// off the same burst goes upstream at once and the upstream's 429s reach
// the callers.
func TestQuotaOffLetsUpstream429sThrough(t *testing.T) {
	emu := startLimitedEmulator(t)
	g := startGateway(t, emu, appConfig(t, emu, "xdr", identity.ClientID, identity.ClientSecret,
		"--quota-enabled=false", "--retry-max-attempts=1"))
	incidents := defenderv1.NewIncidentServiceClient(quotaConn(t, g))
	_, err := incidents.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1})
	mustOK(t, err) // the token is cached
	errs := burst(incidents, 60, 20*time.Second)
	throttled := 0
	for _, err := range errs {
		if err != nil {
			wantStatus(t, err, codes.ResourceExhausted, "UPSTREAM_THROTTLED")
			throttled++
		}
	}
	stat := emu.RouteStat(emulator.APIXDR, identity.HomeTenantID, emulator.RouteIncidentList)
	if throttled == 0 || stat.Throttled() == 0 {
		t.Errorf("%d callers throttled, %d upstream 429s: want the upstream to refuse the burst", throttled, stat.Throttled())
	}
}

// TestUpstream429HoldsTheTenant: an upstream 429 the scheduler did not
// foresee (another client of the same tenant used the quota) holds the
// family for the window the upstream named; calls in the meantime fail at
// once with RetryInfo and nothing goes upstream.
func TestUpstream429HoldsTheTenant(t *testing.T) {
	tests := []struct {
		name    string
		backend string
		fault   emulator.Fault
		hunting bool // the fault is on hunting; else on incident listings
		maxHold time.Duration
	}{
		{"xdr quota message", "xdr", emulator.XDRQuotaExceeded(identity.HomeTenantID, "/api/incidents", emulator.Window{Count: 45, Per: time.Minute}), false, time.Minute},
		{"graph retry-after", "graph", emulator.Throttle(emulator.APIGraph, identity.HomeTenantID, 20*time.Second), false, 20 * time.Second},
		{"xdr hunting cpu quota", "xdr", emulator.HuntingCPUQuota(emulator.APIXDR, identity.HomeTenantID), true, 15 * time.Minute},
		{"graph hunting cpu quota", "graph", emulator.HuntingCPUQuota(emulator.APIGraph, identity.HomeTenantID), true, 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := startLimitedEmulator(t)
			g := startGateway(t, emu, appConfig(t, emu, tt.backend, identity.ClientID, identity.ClientSecret, "--quota-enabled=true"))
			conn := quotaConn(t, g)
			incidents := defenderv1.NewIncidentServiceClient(conn)
			hunting := defenderv1.NewHuntingServiceClient(conn)
			route, family := emulator.RouteIncidentList, defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_READ
			if tt.hunting {
				route, family = emulator.RouteHunting, defenderv1.QuotaFamily_QUOTA_FAMILY_HUNTING
			}
			call := func(i int) error {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				if tt.hunting {
					_, err := hunting.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo | take " + strconv.Itoa(i)})
					return err
				}
				_, err := incidents.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: int32(i)})
				return err
			}
			mustOK(t, call(1)) // the token is cached; the budget has room

			f := tt.fault
			f.Times = 1
			emu.InjectFault(f)
			// The call that met the 429 reports it, as its retry cannot wait
			// out the hold within its deadline
			// (UPSTREAM_THROTTLED), or the scheduler refuses its retry
			// (QUOTA_EXHAUSTED) when the hold has no Retry-After to return.
			err := call(2)
			st := wantStatus(t, err, codes.ResourceExhausted, "")
			if r := errorInfo(st).GetReason(); r != "UPSTREAM_THROTTLED" && r != "QUOTA_EXHAUSTED" {
				t.Errorf("reason %s, want UPSTREAM_THROTTLED or QUOTA_EXHAUSTED", r)
			}
			if d, ok := retryDelay(st); !ok || d <= 0 || d > tt.maxHold {
				t.Errorf("RetryInfo delay = %v (present %v), want within (0, %v]", d, ok, tt.maxHold)
			}
			before := emu.RouteStat(tt.backend, identity.HomeTenantID, route)
			for i := range 3 {
				wantQuotaExhausted(t, call(3+i), tt.maxHold)
			}
			after := emu.RouteStat(tt.backend, identity.HomeTenantID, route)
			if after.Accepted != before.Accepted || after.Throttled() != 1 {
				t.Errorf("during the hold the upstream served %d more calls and sent %d 429s, want 0 more and the one injected",
					after.Accepted-before.Accepted, after.Throttled())
			}

			q, err := defenderv1.NewQuotaServiceClient(conn).GetQuota(context.Background(), &defenderv1.GetQuotaRequest{Name: home + "/quota"})
			mustOK(t, err)
			held := false
			for _, b := range q.GetBudgets() {
				if b.GetFamily() == family && b.GetHeldUntil().AsTime().After(time.Now()) {
					held = true
				}
			}
			if !held {
				t.Errorf("GetQuota shows no hold on %v after the 429: %v", family, q)
			}
		})
	}
}

// TestGetQuotaReportsBudgets: the quota RPC shows the documented budgets
// and what calls used of them, over gRPC and REST alike.
func TestGetQuotaReportsBudgets(t *testing.T) {
	emu := startLimitedEmulator(t)
	g := startGateway(t, emu, appConfig(t, emu, "xdr", identity.ClientID, identity.ClientSecret, "--quota-enabled=true"))
	conn := quotaConn(t, g)
	for _, err := range burst(defenderv1.NewIncidentServiceClient(conn), 3, 5*time.Second) {
		mustOK(t, err)
	}

	q, err := defenderv1.NewQuotaServiceClient(conn).GetQuota(context.Background(), &defenderv1.GetQuotaRequest{Name: home + "/quota"})
	mustOK(t, err)
	if q.GetName() != "tenants/"+identity.HomeTenantID+"/quota" {
		t.Errorf("name %q, want the canonical tenants/%s/quota", q.GetName(), identity.HomeTenantID)
	}
	if !q.GetEnabled() || q.GetShared() || q.GetBackend() != defenderv1.Backend_BACKEND_XDR {
		t.Errorf("quota: enabled %v shared %v backend %v, want enabled, in memory, XDR", q.GetEnabled(), q.GetShared(), q.GetBackend())
	}
	type key struct {
		family defenderv1.QuotaFamily
		window time.Duration
	}
	got := map[key]*defenderv1.QuotaBudget{}
	for _, b := range q.GetBudgets() {
		got[key{b.GetFamily(), b.GetWindow().AsDuration()}] = b
	}
	want := map[key]int32{
		{defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_READ, time.Minute}: 50,
		{defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_READ, time.Hour}:   1500,
		{defenderv1.QuotaFamily_QUOTA_FAMILY_HUNTING, time.Minute}:       45,
		{defenderv1.QuotaFamily_QUOTA_FAMILY_WHOLE_API, time.Minute}:     50,
	}
	for k, limit := range want {
		b, ok := got[k]
		if !ok {
			t.Errorf("no budget for %v per %v in %v", k.family, k.window, q)
			continue
		}
		if b.GetLimit() != limit {
			t.Errorf("%v per %v: limit %d, want %d", k.family, k.window, b.GetLimit(), limit)
		}
	}
	if b := got[key{defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_READ, time.Minute}]; b != nil && b.GetRemaining() >= b.GetLimit() {
		t.Errorf("incident reads per minute: remaining %d of %d after 3 calls, want fewer", b.GetRemaining(), b.GetLimit())
	}

	// REST: the same resource.
	resp, err := http.Get("http://" + g.httpAddr + "/v1/" + home + "/quota")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rest struct {
		Name    string `json:"name"`
		Enabled bool   `json:"enabled"`
		Budgets []struct {
			Family string `json:"family"`
			Limit  int    `json:"limit"`
		} `json:"budgets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rest); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || rest.Name != q.GetName() || !rest.Enabled || len(rest.Budgets) != len(q.GetBudgets()) {
		t.Errorf("REST GetQuota: HTTP %d %+v, want 200 with the gRPC answer's %d budgets", resp.StatusCode, rest, len(q.GetBudgets()))
	}

	// A bad name is INVALID_ARGUMENT naming the field.
	_, err = defenderv1.NewQuotaServiceClient(conn).GetQuota(context.Background(), &defenderv1.GetQuotaRequest{Name: "tenants/default"})
	st := wantStatus(t, err, codes.InvalidArgument, "")
	if fields := fieldViolations(st); len(fields) != 1 || fields[0] != "name" {
		t.Errorf("field violations %v, want [name]", fields)
	}
}
