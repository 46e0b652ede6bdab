package service

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// timedAlert is an alert of alertBackend: its id and how many minutes
// before baseTime it was created.
type timedAlert struct {
	id  string
	min int
}

// alertBackend holds the alerts (in one incident), listed newest first,
// then by id descending, as the merge expects of a Graph tenant.
func alertBackend(alerts ...timedAlert) *fakeBackend {
	in := defender.Incident{ID: "1", CreateTime: baseTime}
	for _, a := range alerts {
		in.Alerts = append(in.Alerts, defender.Alert{ID: a.id, CreateTime: baseTime.Add(-time.Duration(a.min) * time.Minute)})
	}
	slices.SortStableFunc(in.Alerts, func(x, y defender.Alert) int {
		if c := y.CreateTime.Compare(x.CreateTime); c != 0 {
			return c
		}
		if x.ID > y.ID {
			return -1
		}
		return 1
	})
	return &fakeBackend{kind: defender.BackendGraph, incidents: []defender.Incident{in}}
}

// xdrAlertBackend is a tenant on the XDR backend: no alerts_v2.
func xdrAlertBackend() *fakeBackend {
	return &fakeBackend{kind: defender.BackendXDR, err: defender.Errorf(defender.KindUnimplemented, defender.ReasonUnsupportedByBackend,
		"the XDR backend does not serve alerts_v2")}
}

func newAlertFanoutService(t *testing.T, r fanoutResolver, served ...string) *AlertService {
	t.Helper()
	svc := NewAlertService(r, testCodec(t, 1), nil, WithAlertFanout(servedList(served), 2))
	svc.tokens.now = func() time.Time { return baseTime }
	return svc
}

// listAllAlerts pages through ListAlerts on tenants/- with req's filter and
// returns every name, and the unreachable tenants of each page.
func listAllAlerts(t *testing.T, ctx context.Context, svc *AlertService, req *defenderv1.ListAlertsRequest) (names []string, unreachable [][]*defenderv1.UnreachableTenant) {
	t.Helper()
	req = protoClone(req)
	req.Parent = "tenants/-"
	for range 100 {
		resp, err := svc.ListAlerts(ctx, req)
		if err != nil {
			t.Fatalf("ListAlerts(tenants/-, page %d): %v", len(unreachable), err)
		}
		if len(resp.GetAlerts()) > int(req.GetPageSize()) {
			t.Fatalf("page of %d alerts, page size %d", len(resp.GetAlerts()), req.GetPageSize())
		}
		for _, a := range resp.GetAlerts() {
			names = append(names, a.GetName())
		}
		if len(resp.GetUnreachable()) != len(resp.GetUnreachableDetails()) {
			t.Fatalf("unreachable %v and %d details", resp.GetUnreachable(), len(resp.GetUnreachableDetails()))
		}
		unreachable = append(unreachable, resp.GetUnreachableDetails())
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return names, unreachable
		}
	}
	t.Fatal("the listing did not end")
	return nil, nil
}

// TestListAlertsAcrossTenantsMerges: every page size yields the one order
// (creation time descending, tenant ascending, id descending as strings),
// each alert under its own tenant, and the XDR tenant unreachable on every
// page.
func TestListAlertsAcrossTenantsMerges(t *testing.T) {
	r := fanoutResolver{backends: map[string]defender.Backend{
		// Ties at minute 5 across tenants and within tenant A: "da9" > "da10"
		// as strings (not as numbers), and tenant A before tenant B.
		tenantA: alertBackend(timedAlert{"da10", 5}, timedAlert{"da9", 5}, timedAlert{"a-old", 30}, timedAlert{"a-new", 1}),
		tenantB: alertBackend(timedAlert{"b5", 5}, timedAlert{"b2", 2}, timedAlert{"b40", 40}),
		tenantC: xdrAlertBackend(),
	}}
	want := []string{
		alertName(tenantA, "a-new"),
		alertName(tenantB, "b2"),
		alertName(tenantA, "da9"),
		alertName(tenantA, "da10"),
		alertName(tenantB, "b5"),
		alertName(tenantA, "a-old"),
		alertName(tenantB, "b40"),
	}
	for _, size := range []int32{1, 2, 3, 7, 50} {
		svc := newAlertFanoutService(t, r, tenantA, tenantB, tenantC)
		names, unreachable := listAllAlerts(t, context.Background(), svc, &defenderv1.ListAlertsRequest{PageSize: size})
		if !slices.Equal(names, want) {
			t.Errorf("page size %d: %v, want %v", size, names, want)
		}
		for i, u := range unreachable {
			if len(u) != 1 || u[0].GetTenant() != "tenants/"+tenantC || u[0].GetCode() != code.Code_UNIMPLEMENTED ||
				u[0].GetReason() != defender.ReasonUnsupportedByBackend {
				t.Errorf("page size %d, page %d: unreachable %v, want the XDR tenant with UNSUPPORTED_BY_BACKEND", size, i, u)
			}
		}
	}
}

// TestListAlertsAcrossTenantsSubset lists only the named tenants.
func TestListAlertsAcrossTenantsSubset(t *testing.T) {
	r := fanoutResolver{backends: map[string]defender.Backend{
		tenantA: alertBackend(timedAlert{"a1", 1}),
		tenantB: alertBackend(timedAlert{"b1", 2}, timedAlert{"b2", 3}),
	}}
	svc := newAlertFanoutService(t, r, tenantA, tenantB)
	names, _ := listAllAlerts(t, context.Background(), svc, &defenderv1.ListAlertsRequest{PageSize: 1, Tenants: []string{"tenants/" + tenantB}})
	if want := []string{alertName(tenantB, "b1"), alertName(tenantB, "b2")}; !slices.Equal(names, want) {
		t.Errorf("tenants [B]: %v, want %v", names, want)
	}
}

// TestListAlertsAcrossTenantsFails: bad input fails the call naming the
// field, and so does a listing whose every tenant fails.
func TestListAlertsAcrossTenantsFails(t *testing.T) {
	r := fanoutResolver{backends: map[string]defender.Backend{
		tenantA: alertBackend(timedAlert{"a1", 1}),
		tenantC: xdrAlertBackend(),
	}}
	ctx := context.Background()
	svc := newAlertFanoutService(t, r, tenantA, tenantC)
	for _, tt := range []struct {
		req   *defenderv1.ListAlertsRequest
		field string
	}{
		{&defenderv1.ListAlertsRequest{Parent: "tenants/-", Incident: "tenants/" + tenantA + "/incidents/1"}, "incident"},
		{&defenderv1.ListAlertsRequest{Parent: "tenants/" + tenantA, Tenants: []string{tenantA}}, "tenants"},
		{&defenderv1.ListAlertsRequest{Parent: "tenants/-", Tenants: []string{"tenants/a/b"}}, "tenants[0]"},
		{&defenderv1.ListAlertsRequest{Parent: "tenants/-", PageSize: -1}, "page_size"},
		{&defenderv1.ListAlertsRequest{Parent: "tenants/-", PageToken: "garbage"}, "page_token"},
	} {
		_, err := svc.ListAlerts(ctx, tt.req)
		wantFieldError(t, err, tt.field)
	}
	_, err := NewAlertService(r, testCodec(t, 1), nil).ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: "tenants/-"})
	wantFieldError(t, err, "parent")

	onlyXDR := newAlertFanoutService(t, r, tenantC)
	_, err = onlyXDR.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: "tenants/-"})
	wantCode(t, err, codes.Unimplemented, defender.ReasonUnsupportedByBackend)
}

// TestListAlertsAcrossTenantsTokens: a token continues only the alert
// listing of the same caller, filter and tenants that issued it.
func TestListAlertsAcrossTenantsTokens(t *testing.T) {
	r := fanoutResolver{backends: map[string]defender.Backend{
		tenantA: alertBackend(timedAlert{"a1", 1}, timedAlert{"a2", 2}),
		tenantB: alertBackend(timedAlert{"b1", 3}, timedAlert{"b2", 4}),
	}}
	bot := caller.NewContext(context.Background(), &caller.Request{Identity: caller.Identity{Name: "api-key:bot"}})
	other := caller.NewContext(context.Background(), &caller.Request{Identity: caller.Identity{Name: "api-key:other"}})
	svc := newAlertFanoutService(t, r, tenantA, tenantB)
	first := &defenderv1.ListAlertsRequest{Parent: "tenants/-", PageSize: 1}
	resp, err := svc.ListAlerts(bot, first)
	if err != nil {
		t.Fatal(err)
	}
	token := resp.GetNextPageToken()
	if token == "" {
		t.Fatal("no next page token")
	}
	next, err := svc.ListAlerts(bot, &defenderv1.ListAlertsRequest{Parent: "tenants/-", PageSize: 1, PageToken: token})
	if err != nil {
		t.Fatal(err)
	}
	if got := next.GetAlerts(); len(got) != 1 || got[0].GetName() != alertName(tenantA, "a2") {
		t.Errorf("second page %v, want a2 of tenant A", got)
	}
	for name, tt := range map[string]struct {
		ctx context.Context
		req *defenderv1.ListAlertsRequest
	}{
		"another caller":  {other, &defenderv1.ListAlertsRequest{Parent: "tenants/-", PageToken: token}},
		"another filter":  {bot, &defenderv1.ListAlertsRequest{Parent: "tenants/-", PageToken: token, AssignedTo: "x"}},
		"another subset":  {bot, &defenderv1.ListAlertsRequest{Parent: "tenants/-", PageToken: token, Tenants: []string{tenantA}}},
		"one tenant's":    {bot, &defenderv1.ListAlertsRequest{Parent: "tenants/" + tenantA, PageToken: token}},
		"altered":         {bot, &defenderv1.ListAlertsRequest{Parent: "tenants/-", PageToken: token[:len(token)-2] + "AA"}},
		"a single tenant": {bot, &defenderv1.ListAlertsRequest{Parent: "tenants/-", PageToken: singleAlertToken(t, bot, svc)}},
	} {
		_, err := svc.ListAlerts(tt.ctx, tt.req)
		if st, _ := grpcstatus.FromError(err); st.Code() != codes.InvalidArgument {
			t.Errorf("%s: ListAlerts = %v, want INVALID_ARGUMENT", name, err)
		}
	}
	// An alert token does not continue incidents on tenants/-.
	incidents := NewIncidentService(r, testCodec(t, 1), nil, WithFanout(servedList{tenantA, tenantB}, 2))
	incidents.tokens.now = svc.tokens.now
	_, err = incidents.ListIncidents(bot, &defenderv1.ListIncidentsRequest{Parent: "tenants/-", PageToken: token})
	wantFieldError(t, err, "page_token")
}

// singleAlertToken is a next page token of tenant A's alerts alone.
func singleAlertToken(t *testing.T, ctx context.Context, svc *AlertService) string {
	t.Helper()
	resp, err := svc.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: "tenants/" + tenantA, PageSize: 1})
	if err != nil || resp.GetNextPageToken() == "" {
		t.Fatalf("ListAlerts(tenant A) = %v, %v; want a next page", resp, err)
	}
	return resp.GetNextPageToken()
}
