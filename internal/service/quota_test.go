package service

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/quota"
)

// fakeQuota answers State with states (or err) and records its arguments.
type fakeQuota struct {
	states []quota.BudgetState
	err    error
	calls  [][2]string // tenant, backend
}

func (q *fakeQuota) State(_ context.Context, tenant, backend string) ([]quota.BudgetState, error) {
	q.calls = append(q.calls, [2]string{tenant, backend})
	return q.states, q.err
}

func TestGetQuota(t *testing.T) {
	held := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	xdrStates := []quota.BudgetState{
		{Family: quota.FamilyIncidentRead, Window: time.Minute, Limit: 50, Remaining: 12, ResetAfter: 40 * time.Second, Queued: 3, Shared: true},
		{Family: quota.FamilyHunting, Window: time.Minute, Limit: 45, Remaining: 0, ResetAfter: time.Minute, HeldUntil: held, Shared: true},
		{Family: quota.FamilyWholeAPI, Window: time.Hour, Limit: 1500, Remaining: 1499, ResetAfter: 2 * time.Second, Shared: true},
	}
	xdrBudgets := []*defenderv1.QuotaBudget{
		{Family: defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_READ, Window: durationpb.New(time.Minute), Limit: 50, Remaining: 12,
			ResetAfter: durationpb.New(40 * time.Second), Queued: 3},
		{Family: defenderv1.QuotaFamily_QUOTA_FAMILY_HUNTING, Window: durationpb.New(time.Minute), Limit: 45, Remaining: 0,
			ResetAfter: durationpb.New(time.Minute), HeldUntil: timestamppb.New(held)},
		{Family: defenderv1.QuotaFamily_QUOTA_FAMILY_WHOLE_API, Window: durationpb.New(time.Hour), Limit: 1500, Remaining: 1499,
			ResetAfter: durationpb.New(2 * time.Second)},
	}

	tests := []struct {
		name      string
		kind      defender.BackendKind
		reader    *fakeQuota // nil: no quota scheduling
		req       string
		want      *defenderv1.Quota
		wantState [2]string // State's tenant and backend
	}{
		{
			name: "default tenant on XDR, shared", kind: defender.BackendXDR, reader: &fakeQuota{states: xdrStates},
			req:       "tenants/default/quota",
			want:      &defenderv1.Quota{Name: "tenants/" + canonicalTenant + "/quota", Backend: defenderv1.Backend_BACKEND_XDR, Enabled: true, Shared: true, Budgets: xdrBudgets},
			wantState: [2]string{canonicalTenant, "xdr"},
		},
		{
			name: "domain tenant on Graph, one budget local", kind: defender.BackendGraph,
			reader: &fakeQuota{states: []quota.BudgetState{
				{Family: quota.FamilyIncidentGet, Window: time.Second, Limit: 5, Remaining: 5, Shared: true},
				{Family: quota.FamilyIncidentWrite, Window: time.Second, Limit: 5, Remaining: 4, ResetAfter: 200 * time.Millisecond},
			}},
			req: "tenants/" + otherTenant + "/quota",
			want: &defenderv1.Quota{Name: "tenants/" + otherTenant + "/quota", Backend: defenderv1.Backend_BACKEND_GRAPH, Enabled: true, Shared: false,
				Budgets: []*defenderv1.QuotaBudget{
					{Family: defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_GET, Window: durationpb.New(time.Second), Limit: 5, Remaining: 5, ResetAfter: durationpb.New(0)},
					{Family: defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_WRITE, Window: durationpb.New(time.Second), Limit: 5, Remaining: 4, ResetAfter: durationpb.New(200 * time.Millisecond)},
				}},
			wantState: [2]string{otherTenant, "graph"},
		},
		{
			name: "no budgets is not shared", kind: defender.BackendGraph, reader: &fakeQuota{},
			req:       "tenants/" + canonicalTenant + "/quota",
			want:      &defenderv1.Quota{Name: "tenants/" + canonicalTenant + "/quota", Backend: defenderv1.Backend_BACKEND_GRAPH, Enabled: true},
			wantState: [2]string{canonicalTenant, "graph"},
		},
		{
			name: "out-of-range values are clamped, unknown family unspecified", kind: defender.BackendXDR,
			reader: &fakeQuota{states: []quota.BudgetState{
				{Family: "future", Window: time.Minute, Limit: math.MaxInt32 + 10, Remaining: -3, ResetAfter: -time.Second, Queued: -1, Shared: true},
			}},
			req: "tenants/default/quota",
			want: &defenderv1.Quota{Name: "tenants/" + canonicalTenant + "/quota", Backend: defenderv1.Backend_BACKEND_XDR, Enabled: true, Shared: true,
				Budgets: []*defenderv1.QuotaBudget{
					{Family: defenderv1.QuotaFamily_QUOTA_FAMILY_UNSPECIFIED, Window: durationpb.New(time.Minute), Limit: math.MaxInt32, ResetAfter: durationpb.New(0)},
				}},
			wantState: [2]string{canonicalTenant, "xdr"},
		},
		{
			name: "quota disabled", kind: defender.BackendXDR, reader: nil,
			req:  "tenants/default/quota",
			want: &defenderv1.Quota{Name: "tenants/" + canonicalTenant + "/quota", Backend: defenderv1.Backend_BACKEND_XDR},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := newFakeBackend(0)
			backend.kind = tt.kind
			var reader QuotaReader
			if tt.reader != nil {
				reader = tt.reader
			}
			got, err := NewQuotaService(fakeResolver{backend: backend}, reader, nil).GetQuota(context.Background(), &defenderv1.GetQuotaRequest{Name: tt.req})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("quota (-want +got):\n%s", diff)
			}
			if tt.reader != nil {
				if diff := cmp.Diff([][2]string{tt.wantState}, tt.reader.calls); diff != "" {
					t.Errorf("State calls (-want +got):\n%s", diff)
				}
			}
			if len(backend.calls) != 0 {
				t.Errorf("backend calls = %v, want none", backend.calls)
			}
		})
	}
}

func TestGetQuotaErrors(t *testing.T) {
	tests := []struct {
		name   string
		req    string
		err    error // State's
		code   codes.Code
		reason string
		field  string // INVALID_ARGUMENT on this field when set
	}{
		{name: "empty", req: "", field: "name"},
		{name: "tenant without quota", req: "tenants/default", field: "name"},
		{name: "bad tenant", req: "tenants/-x/quota", field: "name"},
		{name: "other collection", req: "tenants/default/incidents/1", field: "name"},
		{name: "trailing segment", req: "tenants/default/quota/x", field: "name"},
		{name: "no tenant", req: "tenants//quota", field: "name"},
		{name: "tenant not served", req: "tenants/unknown.example/quota", code: codes.PermissionDenied, reason: defender.ReasonTenantNotAllowed},
		{name: "state fails plainly", req: "tenants/default/quota", err: errors.New("redis: secret-host:6379 refused"), code: codes.Internal, reason: defender.ReasonInternal},
		{name: "state canceled", req: "tenants/default/quota", err: context.Canceled, code: codes.Canceled, reason: defender.ReasonCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reader := &fakeQuota{err: tt.err, states: []quota.BudgetState{{Family: quota.FamilyHunting}}}
			_, err := NewQuotaService(fakeResolver{backend: newFakeBackend(0)}, reader, nil).GetQuota(context.Background(), &defenderv1.GetQuotaRequest{Name: tt.req})
			if tt.field != "" {
				wantFieldError(t, err, tt.field)
				if len(reader.calls) != 0 {
					t.Errorf("State called for a bad name: %v", reader.calls)
				}
				return
			}
			st := wantCode(t, err, tt.code, tt.reason)
			if strings.Contains(st.Message(), "secret-host") || strings.Contains(st.Message(), "refused") {
				t.Errorf("message %q leaks the cause", st.Message())
			}
		})
	}
}
