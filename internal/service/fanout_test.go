package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// Tenants of the fan-out tests, as served (canonical ids).
const (
	tenantA = "aaaaaaaa-0000-0000-0000-000000000000"
	tenantB = "bbbbbbbb-0000-0000-0000-000000000000"
	tenantC = "cccccccc-0000-0000-0000-000000000000"
)

// fanoutResolver serves each tenant of backends with its own backend;
// "default" is tenantA. errs makes a tenant fail to resolve.
type fanoutResolver struct {
	backends map[string]defender.Backend
	errs     map[string]error
}

func (r fanoutResolver) Resolve(_ context.Context, tenant string) (authctx.Target, error) {
	if tenant == "default" {
		tenant = tenantA
	}
	if err := r.errs[tenant]; err != nil {
		return authctx.Target{}, err
	}
	b, ok := r.backends[tenant]
	if !ok {
		return authctx.Target{}, defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed, "tenant %q is not allowed", tenant)
	}
	return authctx.Target{Backend: b, Tenant: tenant, Context: authctx.Info{Name: "contexts/partner/tenants/" + tenant}}, nil
}

type servedList []string

func (l servedList) ServedTenants() []string { return l }

// timedBackend holds incidents with the given ids and create times
// (minutes before baseTime), listed newest first.
func timedBackend(entries ...[2]int) *fakeBackend {
	b := &fakeBackend{kind: defender.BackendGraph}
	for _, e := range entries {
		b.incidents = append(b.incidents, defender.Incident{ID: strconv.Itoa(e[0]), CreateTime: baseTime.Add(-time.Duration(e[1]) * time.Minute)})
	}
	slices.SortStableFunc(b.incidents, func(x, y defender.Incident) int {
		if c := y.CreateTime.Compare(x.CreateTime); c != 0 {
			return c
		}
		if idAfter(x.ID, y.ID) {
			return -1
		}
		return 1
	})
	return b
}

// failAfter fails every listing after the first n with err.
type failAfter struct {
	*fakeBackend
	mu  sync.Mutex
	n   int
	err error
}

func (f *failAfter) ListIncidents(ctx context.Context, q defender.ListQuery) (*defender.IncidentPage, error) {
	f.mu.Lock()
	f.n--
	fail := f.n < 0
	f.mu.Unlock()
	if fail {
		return nil, f.err
	}
	return f.fakeBackend.ListIncidents(ctx, q)
}

func newFanoutService(t *testing.T, r fanoutResolver, served ...string) *IncidentService {
	t.Helper()
	svc := NewIncidentService(r, testCodec(t, 1), nil, WithFanout(servedList(served), 2))
	svc.tokens.now = func() time.Time { return baseTime }
	return svc
}

// listAll pages through tenants/- and returns every name, and the
// unreachable tenants of each page.
func listAll(t *testing.T, ctx context.Context, svc *IncidentService, size int32) (names []string, unreachable [][]string) {
	t.Helper()
	token := ""
	for range 100 {
		resp, err := svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/-", PageSize: size, PageToken: token})
		if err != nil {
			t.Fatalf("ListIncidents(tenants/-, page %d): %v", len(unreachable), err)
		}
		if len(resp.GetIncidents()) > int(size) {
			t.Fatalf("page of %d incidents, page size %d", len(resp.GetIncidents()), size)
		}
		for _, in := range resp.GetIncidents() {
			names = append(names, in.GetName())
		}
		unreachable = append(unreachable, resp.GetUnreachable())
		if token = resp.GetNextPageToken(); token == "" {
			return names, unreachable
		}
	}
	t.Fatal("the listing did not end")
	return nil, nil
}

func name(tenant string, id int) string {
	return fmt.Sprintf("tenants/%s/incidents/%d", tenant, id)
}

// TestFanoutMergeOrder pages through several tenants at many page sizes:
// every incident exactly once, by creation time descending, then tenant id,
// then incident id descending.
func TestFanoutMergeOrder(t *testing.T) {
	// {id, minutes before baseTime}
	a := timedBackend([2]int{10, 0}, [2]int{9, 5}, [2]int{8, 5}, [2]int{7, 20}, [2]int{6, 21}, [2]int{5, 40})
	b := timedBackend([2]int{30, 1}, [2]int{29, 5}, [2]int{28, 6}, [2]int{27, 7}, [2]int{26, 40})
	c := timedBackend([2]int{3, 100})
	want := []string{
		name(tenantA, 10), name(tenantB, 30),
		name(tenantA, 9), name(tenantA, 8), name(tenantB, 29), // a tie of three: tenant, then id
		name(tenantB, 28), name(tenantB, 27), name(tenantA, 7), name(tenantA, 6),
		name(tenantA, 5), name(tenantB, 26), // a tie across tenants
		name(tenantC, 3),
	}
	for _, size := range []int32{1, 2, 3, 4, 5, 7, 11, 12, 50} {
		t.Run(fmt.Sprint("page size ", size), func(t *testing.T) {
			svc := newFanoutService(t, fanoutResolver{backends: map[string]defender.Backend{tenantA: a, tenantB: b, tenantC: c}}, "default", tenantB, tenantC)
			got, unreachable := listAll(t, context.Background(), svc, size)
			if !slices.Equal(got, want) {
				t.Errorf("merged listing\n got %v\nwant %v", got, want)
			}
			for i, u := range unreachable {
				if len(u) != 0 {
					t.Errorf("page %d: unreachable %v", i, u)
				}
			}
		})
	}
}

// TestFanoutFetchesLazily: a tenant is read once per page, at most the page
// size past its skip, and its next page only when its buffer runs dry
// before the page is full.
func TestFanoutFetchesLazily(t *testing.T) {
	a := timedBackend([2]int{10, 0}, [2]int{9, 2}, [2]int{8, 4}, [2]int{7, 6})
	b := timedBackend([2]int{30, 1}, [2]int{29, 3})
	c := timedBackend([2]int{50, 100}, [2]int{49, 101}, [2]int{48, 102})
	svc := newFanoutService(t, fanoutResolver{backends: map[string]defender.Backend{tenantA: a, tenantB: b, tenantC: c}}, "default", tenantB, tenantC)
	page := func(size int32, token string) ([]string, string) {
		t.Helper()
		resp, err := svc.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/-", PageSize: size, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, in := range resp.GetIncidents() {
			names = append(names, in.GetName())
		}
		return names, resp.GetNextPageToken()
	}
	reads := func(b *fakeBackend) []string {
		var out []string
		for _, q := range b.lists {
			out = append(out, fmt.Sprintf("%q/%d", q.Cursor, q.PageSize))
		}
		b.lists = nil
		return out
	}
	check := func(step string, b *fakeBackend, want ...string) {
		t.Helper()
		if got := reads(b); !slices.Equal(got, want) {
			t.Errorf("%s: reads %v, want %v", step, got, want)
		}
	}

	got, token := page(3, "")
	if want := []string{name(tenantA, 10), name(tenantB, 30), name(tenantA, 9)}; !slices.Equal(got, want) {
		t.Fatalf("first page %v, want %v", got, want)
	}
	check("first page A", a, `""/3`)
	check("first page B", b, `""/3`)
	check("first page C", c, `""/3`)

	// Each tenant resumes on the page it was on, skipping what it returned:
	// A 2 of its first page, B 1, C none.
	got, token = page(2, token)
	if want := []string{name(tenantB, 29), name(tenantA, 8)}; !slices.Equal(got, want) {
		t.Errorf("second page %v, want %v", got, want)
	}
	check("second page A", a, `""/4`)
	check("second page B", b, `""/3`)
	check("second page C", c, `""/2`)

	// B is done; A runs dry after 7 and, its upstream ended, C follows
	// without another read of A.
	got, token = page(3, token)
	if want := []string{name(tenantA, 7), name(tenantC, 50), name(tenantC, 49)}; !slices.Equal(got, want) {
		t.Errorf("third page %v, want %v", got, want)
	}
	check("third page A", a, `""/6`)
	check("third page B", b)
	check("third page C", c, `""/3`)
	got, token = page(3, token)
	if want := []string{name(tenantC, 48)}; !slices.Equal(got, want) || token != "" {
		t.Errorf("last page %v (token %q), want %v and no token", got, token, want)
	}
}

// TestFanoutUnreachable: a tenant that fails to resolve, one that fails
// on the first page and one that fails mid-way are each reported with
// their status and stay unreachable; the others go on.
func TestFanoutUnreachable(t *testing.T) {
	throttled := &defender.Error{Kind: defender.KindThrottled, Reason: defender.ReasonThrottled, Message: "throttled upstream", RetryAfter: time.Minute}
	consent := defender.Errorf(defender.KindFailedPrecondition, defender.ReasonConsentRequired, "no consent")
	a := timedBackend([2]int{10, 0}, [2]int{9, 1}, [2]int{8, 2}, [2]int{7, 3}, [2]int{6, 4})
	b := &failAfter{fakeBackend: timedBackend([2]int{30, 10}, [2]int{29, 11}, [2]int{28, 12}), n: 1, err: throttled}
	down := &fakeBackend{kind: defender.BackendXDR, err: defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable, "down")}
	r := fanoutResolver{
		backends: map[string]defender.Backend{tenantA: a, tenantB: b, tenantC: down},
		errs:     map[string]error{"northwind.example": consent},
	}
	svc := newFanoutService(t, r, "default", tenantB, tenantC, "northwind.example")
	ctx := context.Background()

	resp, err := svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/-", PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	wantUnreachable := []string{"tenants/" + tenantC, "tenants/northwind.example"}
	if !slices.Equal(resp.GetUnreachable(), wantUnreachable) {
		t.Fatalf("unreachable %v, want %v", resp.GetUnreachable(), wantUnreachable)
	}
	d := resp.GetUnreachableDetails()
	if len(d) != 2 || d[0].GetCode() != code.Code_UNAVAILABLE || d[0].GetReason() != defender.ReasonUnavailable ||
		d[1].GetCode() != code.Code_FAILED_PRECONDITION || d[1].GetReason() != defender.ReasonConsentRequired || d[1].GetMessage() != "no consent" {
		t.Fatalf("details %v", d)
	}
	// B fails on the second page (its refetch), after A's incidents.
	resp, err = svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/-", PageSize: 4, PageToken: resp.GetNextPageToken()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range resp.GetIncidents() {
		got = append(got, in.GetName())
	}
	if want := []string{name(tenantA, 8), name(tenantA, 7), name(tenantA, 6)}; !slices.Equal(got, want) {
		t.Errorf("second page %v, want %v", got, want)
	}
	wantUnreachable = []string{"tenants/" + tenantB, "tenants/" + tenantC, "tenants/northwind.example"}
	if !slices.Equal(resp.GetUnreachable(), wantUnreachable) {
		t.Errorf("unreachable %v, want %v", resp.GetUnreachable(), wantUnreachable)
	}
	if d := resp.GetUnreachableDetails()[0]; d.GetCode() != code.Code_RESOURCE_EXHAUSTED || d.GetReason() != defender.ReasonThrottled || d.GetRetryDelay().AsDuration() != time.Minute {
		t.Errorf("B's details %v", d)
	}
	// A is done, the rest failed: the listing ends.
	if resp.GetNextPageToken() != "" {
		t.Errorf("a next page token after the last tenant ended")
	}
}

// TestFanoutUnreachableStays: a failed tenant is reported on every later
// page from the token, without being read again.
func TestFanoutUnreachableStays(t *testing.T) {
	a := timedBackend([2]int{10, 0}, [2]int{9, 1}, [2]int{8, 2})
	down := &fakeBackend{kind: defender.BackendGraph, err: defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable, "down")}
	svc := newFanoutService(t, fanoutResolver{backends: map[string]defender.Backend{tenantA: a, tenantB: down}}, "default", tenantB)
	_, unreachable := listAll(t, context.Background(), svc, 1)
	if len(unreachable) != 3 {
		t.Fatalf("%d pages, want 3", len(unreachable))
	}
	for i, u := range unreachable {
		if !slices.Equal(u, []string{"tenants/" + tenantB}) {
			t.Errorf("page %d: unreachable %v", i, u)
		}
	}
	if got := down.callCount(); got != 1 {
		t.Errorf("the failed tenant was read %d times, want once", got)
	}
}

// TestFanoutFails: the call fails when every tenant fails on the first
// page, when the caller may use no tenant, and for a cursor the backend
// refuses.
func TestFanoutFails(t *testing.T) {
	down := &fakeBackend{kind: defender.BackendGraph, err: defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable, "down")}
	bad := &fakeBackend{kind: defender.BackendGraph, err: defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "bad cursor")}
	deny := func(string) error {
		return defender.Errorf(defender.KindPermissionDenied, defender.ReasonCallerTenantNotAllowed, "no")
	}
	tests := []struct {
		name     string
		backends map[string]defender.Backend
		caller   *caller.Request
		want     codes.Code
	}{
		{"every tenant fails", map[string]defender.Backend{tenantA: down, tenantB: down}, nil, codes.Unavailable},
		{"no tenant allowed", map[string]defender.Backend{tenantA: timedBackend([2]int{1, 1})}, &caller.Request{Identity: caller.Identity{Name: "api-key:x"}, AuthorizeTenant: deny}, codes.PermissionDenied},
		{"bad input", map[string]defender.Backend{tenantA: timedBackend([2]int{1, 1}), tenantB: bad}, nil, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFanoutService(t, fanoutResolver{backends: tt.backends}, "default", tenantB)
			ctx := context.Background()
			if tt.caller != nil {
				ctx = caller.NewContext(ctx, tt.caller)
			}
			_, err := svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/-"})
			if got := status.Code(err); got != tt.want {
				t.Errorf("ListIncidents = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestFanoutPolicy: the policy limits the tenants; the audit trace lists
// exactly the tenants read.
func TestFanoutPolicy(t *testing.T) {
	r := fanoutResolver{backends: map[string]defender.Backend{
		tenantA: timedBackend([2]int{10, 0}), tenantB: timedBackend([2]int{30, 1}), tenantC: timedBackend([2]int{3, 2}),
	}}
	svc := newFanoutService(t, r, "default", tenantB, tenantC)
	req := &caller.Request{Identity: caller.Identity{Name: "api-key:two"}, AuthorizeTenant: func(tenant string) error {
		if tenant == "default" || tenant == tenantA || tenant == tenantC {
			return nil
		}
		return defender.Errorf(defender.KindPermissionDenied, defender.ReasonCallerTenantNotAllowed, "no")
	}}
	got, unreachable := listAll(t, caller.NewContext(context.Background(), req), svc, 1)
	if want := []string{name(tenantA, 10), name(tenantC, 3)}; !slices.Equal(got, want) {
		t.Errorf("listing %v, want %v", got, want)
	}
	for _, u := range unreachable {
		if len(u) != 0 {
			t.Errorf("unreachable %v", u)
		}
	}
	if got := req.Trace().Touched(); !slices.Equal(got, []string{tenantA, tenantC}) {
		t.Errorf("touched %v, want A and C", got)
	}
}
