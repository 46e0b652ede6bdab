package service

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

func huntingBackend(rows ...map[string]any) *fakeBackend {
	return &fakeBackend{kind: defender.BackendGraph, hunting: &defender.HuntingResult{
		Columns: []defender.HuntingColumn{{Name: "Device", Type: "string"}, {Name: "Count", Type: "long"}},
		Rows:    rows,
		Stats:   map[string]any{"ExecutionTime": 1.5},
	}}
}

func newHuntingFanout(t *testing.T, r fanoutResolver, served ...string) *HuntingService {
	t.Helper()
	return NewHuntingService(r, nil, WithHuntingFanout(servedList(served), 2))
}

// TestRunQueryAcrossTenants: the rows of every tenant, tenant by tenant in
// the served order, each with its tenant's name; a failing tenant is
// unreachable; a column of the gateway's name is replaced.
func TestRunQueryAcrossTenants(t *testing.T) {
	a := huntingBackend(map[string]any{"Device": "a1", "Count": 1.0}, map[string]any{"Device": "a2", "Count": 2.0, "gatewaytenant": "spoofed"})
	b := huntingBackend(map[string]any{"Device": "b1", "Count": 3.0})
	b.hunting.Columns = append(b.hunting.Columns, defender.HuntingColumn{Name: "Extra", Type: "string"})
	down := &fakeBackend{kind: defender.BackendGraph, err: &defender.Error{Kind: defender.KindThrottled, Reason: defender.ReasonThrottled, Message: "hunting quota"}}
	svc := newHuntingFanout(t, fanoutResolver{backends: map[string]defender.Backend{tenantA: a, tenantB: b, tenantC: down}}, "default", tenantB, tenantC)
	req := &caller.Request{Identity: caller.Identity{Name: "api-key:hunter"}}
	resp, err := svc.RunQuery(caller.NewContext(context.Background(), req), &defenderv1.RunQueryRequest{Tenant: "tenants/-", Query: "DeviceEvents | take 2"})
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range resp.GetColumns() {
		cols = append(cols, c.GetName()+":"+c.GetType())
	}
	if want := []string{"GatewayTenant:string", "Device:string", "Count:long", "Extra:string"}; !slices.Equal(cols, want) {
		t.Errorf("columns %v, want %v", cols, want)
	}
	var rows []string
	for _, r := range resp.GetRows() {
		m := r.AsMap()
		if len(m) != len(r.GetFields()) {
			t.Errorf("row %v", m)
		}
		rows = append(rows, m["GatewayTenant"].(string)+" "+m["Device"].(string))
		if _, ok := m["gatewaytenant"]; ok {
			t.Errorf("the result's own tenant column was kept: %v", m)
		}
	}
	want := []string{"tenants/" + tenantA + " a1", "tenants/" + tenantA + " a2", "tenants/" + tenantB + " b1"}
	if !slices.Equal(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	if resp.GetStats() != nil {
		t.Errorf("stats %v on tenants/-", resp.GetStats())
	}
	if !slices.Equal(resp.GetUnreachable(), []string{"tenants/" + tenantC}) || resp.GetUnreachableDetails()[0].GetCode() != code.Code_RESOURCE_EXHAUSTED {
		t.Errorf("unreachable %v %v", resp.GetUnreachable(), resp.GetUnreachableDetails())
	}
	if got := req.Trace().Touched(); !slices.Equal(got, []string{tenantA, tenantB, tenantC}) {
		t.Errorf("touched %v", got)
	}
}

// TestRunQueryAcrossTenantsFails: every tenant failing fails the call with
// the first failure (a KQL error), a result over the bound fails it, and a
// bad timespan is refused before any tenant runs.
func TestRunQueryAcrossTenantsFails(t *testing.T) {
	kql := func() *fakeBackend {
		return &fakeBackend{kind: defender.BackendGraph, err: defender.Errorf(defender.KindInvalidArgument, defender.ReasonUpstreamBadRequest, "Syntax error")}
	}
	big := huntingBackend()
	for range 200 {
		big.hunting.Rows = append(big.hunting.Rows, map[string]any{"Device": "a-rather-long-device-name-to-fill-the-bound"})
	}
	tests := []struct {
		name     string
		backends map[string]defender.Backend
		req      *defenderv1.RunQueryRequest
		want     codes.Code
		reason   string
	}{
		{"every tenant fails", map[string]defender.Backend{tenantA: kql(), tenantB: kql()}, &defenderv1.RunQueryRequest{Tenant: "tenants/-", Query: "bad |"}, codes.InvalidArgument, defender.ReasonUpstreamBadRequest},
		{"too large together", map[string]defender.Backend{tenantA: big, tenantB: big}, &defenderv1.RunQueryRequest{Tenant: "tenants/-", Query: "x"}, codes.FailedPrecondition, defender.ReasonResultTooLarge},
		{"bad timespan", map[string]defender.Backend{tenantA: kql(), tenantB: kql()}, &defenderv1.RunQueryRequest{Tenant: "tenants/-", Query: "x", Timespan: "P1Y2"}, codes.InvalidArgument, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := NewHuntingService(fanoutResolver{backends: tt.backends}, nil, WithMaxResultBytes(15000), WithHuntingFanout(servedList{"default", tenantB}, 2))
			_, err := svc.RunQuery(context.Background(), tt.req)
			if status.Code(err) != tt.want {
				t.Fatalf("RunQuery = %v, want %v", err, tt.want)
			}
			if tt.reason != "" {
				wantCode(t, err, tt.want, tt.reason)
			}
			if tt.name == "bad timespan" && tt.backends[tenantA].(*fakeBackend).callCount() != 0 {
				t.Error("a tenant ran a query with a bad timespan")
			}
		})
	}
}
