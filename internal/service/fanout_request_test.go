package service

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// blockingBackend answers no listing before its context ends.
type blockingBackend struct{ *fakeBackend }

func (b blockingBackend) ListIncidents(ctx context.Context, _ defender.ListQuery) (*defender.IncidentPage, error) {
	<-ctx.Done()
	return nil, &defender.Error{Kind: defender.KindDeadlineExceeded, Reason: defender.ReasonDeadlineExceeded, Message: "the deadline passed", Cause: ctx.Err()}
}

// TestFanoutSlowTenant: a tenant still waiting when the tenants' share of
// the deadline is over is unreachable, and the call answers with the
// others before the caller's deadline.
func TestFanoutSlowTenant(t *testing.T) {
	a := timedBackend([2]int{10, 0}, [2]int{9, 1})
	slow := blockingBackend{&fakeBackend{kind: defender.BackendGraph}}
	svc := newFanoutService(t, fanoutResolver{backends: map[string]defender.Backend{tenantA: a, tenantB: slow}}, "default", tenantB)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/-"})
	if err != nil {
		t.Fatalf("ListIncidents = %v, want the fast tenant's page", err)
	}
	if len(resp.GetIncidents()) != 2 || !slices.Equal(resp.GetUnreachable(), []string{"tenants/" + tenantB}) ||
		resp.GetUnreachableDetails()[0].GetCode() != code.Code_DEADLINE_EXCEEDED {
		t.Errorf("page %d incidents, unreachable %v %v; want 2 and the slow tenant, DEADLINE_EXCEEDED",
			len(resp.GetIncidents()), resp.GetUnreachable(), resp.GetUnreachableDetails())
	}
	if ctx.Err() != nil {
		t.Error("the call answered only at the caller's deadline")
	}
}

// TestFanoutFilterAndView: every tenant is read with the request's filter
// and view, as a listing of that tenant alone is.
func TestFanoutFilterAndView(t *testing.T) {
	a := timedBackend([2]int{10, 0})
	b := timedBackend([2]int{30, 1})
	svc := newFanoutService(t, fanoutResolver{backends: map[string]defender.Backend{tenantA: a, tenantB: b}}, "default", tenantB)
	_, err := svc.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{
		Parent: "tenants/-", PageSize: 7, AssignedTo: "o'brien@contoso.com",
		Statuses: []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE},
		View:     defenderv1.IncidentView_INCIDENT_VIEW_FULL,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, fb := range []*fakeBackend{a, b} {
		if len(fb.lists) != 1 {
			t.Fatalf("%d reads, want 1", len(fb.lists))
		}
		q := fb.lists[0]
		if q.Filter.AssignedTo != "o'brien@contoso.com" || !slices.Equal(q.Filter.Statuses, []defender.IncidentStatus{defender.StatusActive}) || !q.WithAlerts || q.PageSize != 7 {
			t.Errorf("read with %+v, want the request's filter, alerts and page size", q)
		}
	}
	// Bad input fails before any tenant is read.
	_, err = svc.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/-", PageSize: 501})
	if status.Code(err) != codes.InvalidArgument || len(a.lists) != 1 {
		t.Errorf("page size 501: %v after %d reads, want INVALID_ARGUMENT and no read", err, len(a.lists))
	}
}
