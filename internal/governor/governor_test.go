package governor

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// readCase is one read kind: how to call it and how to scribble on its
// result.
type readCase struct {
	name   string
	do     func(context.Context, defender.Backend) (any, error)
	mutate func(any)
}

var readCases = []readCase{
	{
		name: "ListIncidents",
		do: func(ctx context.Context, b defender.Backend) (any, error) {
			return b.ListIncidents(ctx, defender.ListQuery{PageSize: 10, Cursor: "c"})
		},
		mutate: func(v any) {
			p := v.(*defender.IncidentPage)
			p.Incidents[0].Tags[0] = "changed"
			p.Incidents[0].Alerts[0].Evidence[0].Details["k"].([]any)[1].(map[string]any)["n"] = 2.0
		},
	},
	{
		name: "GetIncident",
		do: func(ctx context.Context, b defender.Backend) (any, error) {
			return b.GetIncident(ctx, "7", true)
		},
		mutate: func(v any) {
			inc := v.(*defender.Incident)
			inc.Comments[0].Text = "changed"
			inc.Alerts[0].MitreTechniques[0] = "changed"
		},
	},
	{
		name: "RunHuntingQuery",
		do: func(ctx context.Context, b defender.Backend) (any, error) {
			return b.RunHuntingQuery(ctx, defender.HuntingQuery{Query: "T | take 1", Timespan: "P1D"})
		},
		mutate: func(v any) {
			r := v.(*defender.HuntingResult)
			r.Rows[0]["D"].(map[string]any)["z"].([]any)[0] = 2.0
			r.Stats["cpu"] = 9.0
		},
	},
}

func TestConcurrentIdenticalReads(t *testing.T) {
	const n = 8
	for _, rc := range append(slices.Clone(readCases), alertReadCases...) {
		for _, tc := range []struct {
			coalesce  bool
			wantCalls int
		}{{true, 1}, {false, n}} {
			name := rc.name + "/coalesce"
			if !tc.coalesce {
				name = rc.name + "/direct"
			}
			t.Run(name, func(t *testing.T) {
				fb := &fakeBackend{block: make(chan struct{})}
				g := newTest(t, Options{Coalesce: tc.coalesce}, fb)
				ctx := as(t.Context(), "api-key:a", nil, "")
				target, err := g.Resolve(ctx, tenantA)
				if err != nil {
					t.Fatal(err)
				}
				results := make([]any, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() { results[i], errs[i] = rc.do(ctx, target.Backend) })
				}
				if tc.coalesce {
					waitFor(t, "every caller to wait", func() bool { return g.flights.waiting() == n })
				} else {
					waitFor(t, "every call to start", func() bool { return fb.count() == n })
				}
				close(fb.block)
				wg.Wait()
				if got := fb.count(); got != tc.wantCalls {
					t.Errorf("backend calls = %d, want %d", got, tc.wantCalls)
				}
				want, err := rc.do(t.Context(), &fakeBackend{})
				if err != nil {
					t.Fatal(err)
				}
				for i := range n {
					if errs[i] != nil {
						t.Fatalf("caller %d: %v", i, errs[i])
					}
				}
				rc.mutate(results[0])
				for i := 1; i < n; i++ {
					if diff := cmp.Diff(want, results[i]); diff != "" {
						t.Errorf("caller %d's result (-want +got) after caller 0 changed its own:\n%s", i, diff)
					}
				}
			})
		}
	}
}

func TestSharingKeys(t *testing.T) {
	user := func(oid, upn string) *caller.UserToken {
		return &caller.UserToken{Raw: "token-" + upn, Tenant: tenantA, ObjectID: oid, UPN: upn}
	}
	bg := context.Background()
	q := defender.ListQuery{PageSize: 10}
	tests := []struct {
		name       string
		ctx1, ctx2 context.Context
		ten1, ten2 string
		q1, q2     defender.ListQuery
		wantCalls  int
	}{
		{"same app context, different callers", as(bg, "api-key:a", nil, ""), as(bg, "api-key:b", nil, ""), tenantA, tenantA, q, q, 1},
		{"different tenants", as(bg, "api-key:a", nil, ""), as(bg, "api-key:a", nil, ""), tenantA, tenantB, q, q, 2},
		{"different cursor", as(bg, "api-key:a", nil, ""), as(bg, "api-key:a", nil, ""), tenantA, tenantA, q, defender.ListQuery{PageSize: 10, Cursor: "x"}, 2},
		{"different page size", as(bg, "api-key:a", nil, ""), as(bg, "api-key:a", nil, ""), tenantA, tenantA, q, defender.ListQuery{PageSize: 11}, 2},
		{"different filter", as(bg, "api-key:a", nil, ""), as(bg, "api-key:a", nil, ""), tenantA, tenantA, q,
			defender.ListQuery{PageSize: 10, Filter: defender.IncidentFilter{CreatedFrom: time.Unix(1, 0)}}, 2},
		{"different alerts", as(bg, "api-key:a", nil, ""), as(bg, "api-key:a", nil, ""), tenantA, tenantA, q, defender.ListQuery{PageSize: 10, WithAlerts: true}, 2},
		{"app and on-behalf-of", as(bg, "api-key:a", nil, ""), as(bg, "api-key:a", user("o1", "u1@x"), ""), tenantA, tenantA, q, q, 2},
		{"on-behalf-of, same user, other token", as(bg, "api-key:a", user("o1", "u1@x"), ""), as(bg, "api-key:b", user("O1", "renamed@x"), ""), tenantA, tenantA, q, q, 1},
		{"on-behalf-of, different users", as(bg, "api-key:a", user("o1", "u1@x"), ""), as(bg, "api-key:a", user("o2", "u2@x"), ""), tenantA, tenantA, q, q, 2},
		{"different accounts", as(bg, "api-key:a", nil, "u1@x"), as(bg, "api-key:a", nil, "u2@x"), tenantA, tenantA, q, q, 2},
		{"same account", as(bg, "api-key:a", nil, "u1@x"), as(bg, "api-key:b", nil, "U1@x"), tenantA, tenantA, q, q, 1},
		{"account and on-behalf-of of the same UPN", as(bg, "api-key:a", nil, "u1@x"), as(bg, "api-key:a", user("o1", "u1@x"), ""), tenantA, tenantA, q, q, 2},
		{"user context without a user", as(bg, "api-key:a", &caller.UserToken{}, ""), as(bg, "api-key:a", &caller.UserToken{}, ""), tenantA, tenantA, q, q, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := &fakeBackend{block: make(chan struct{})}
			g := newTest(t, Options{Coalesce: true}, fb)
			var wg sync.WaitGroup
			call := func(ctx context.Context, tenant string, q defender.ListQuery) {
				target, err := g.Resolve(ctx, tenant)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := target.Backend.ListIncidents(ctx, q); err != nil {
					t.Error(err)
				}
			}
			wg.Go(func() { call(tt.ctx1, tt.ten1, tt.q1) })
			wg.Go(func() { call(tt.ctx2, tt.ten2, tt.q2) })
			waitFor(t, "both calls to wait", func() bool { return g.flights.waiting() == 2 || fb.count() == 2 })
			close(fb.block)
			wg.Wait()
			if got := fb.count(); got != tt.wantCalls {
				t.Errorf("backend calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}
