package service

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
)

func TestGetIncident(t *testing.T) {
	cases := []struct {
		name       string
		req        *defenderv1.GetIncidentRequest
		withAlerts bool
		code       codes.Code
		field      string
	}{
		{name: "default view is full", req: &defenderv1.GetIncidentRequest{Name: incident1000}, withAlerts: true},
		{name: "basic view", req: &defenderv1.GetIncidentRequest{Name: incident1000, View: defenderv1.IncidentView_INCIDENT_VIEW_BASIC}},
		{name: "nil request", req: nil, code: codes.InvalidArgument, field: "name"},
		{name: "malformed id", req: &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/12a"}, code: codes.InvalidArgument, field: "name"},
		{name: "undefined view", req: &defenderv1.GetIncidentRequest{Name: incident1000, View: -1}, code: codes.InvalidArgument, field: "view"},
		{name: "not found", req: &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/1"}, withAlerts: true, code: codes.NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backend := newFakeBackend(1)
			svc, _ := newIncidentService(t, backend)
			got, err := svc.GetIncident(context.Background(), tc.req)
			switch {
			case tc.field != "":
				wantFieldError(t, err, tc.field)
				if n := backend.callCount(); n != 0 {
					t.Errorf("the backend was called %d times", n)
				}
				return
			case tc.code != codes.OK:
				wantCode(t, err, tc.code, defender.ReasonNotFound)
			case err != nil:
				t.Fatal(err)
			default:
				if got.GetName() != "tenants/"+canonicalTenant+"/incidents/1000" || got.GetEtag() == "" {
					t.Errorf("incident %v lacks its canonical name or etag", got)
				}
				if (len(got.GetAlerts()) > 0) != tc.withAlerts {
					t.Errorf("got %d alerts, want alerts = %v", len(got.GetAlerts()), tc.withAlerts)
				}
			}
			if len(backend.gets) != 1 || backend.gets[0] != tc.withAlerts {
				t.Errorf("backend reads (withAlerts) = %v, want [%v]", backend.gets, tc.withAlerts)
			}
		})
	}
}

// badResolver returns what a broken resolver could.
type badResolver struct {
	target defender.Backend
	tenant string
}

func (r badResolver) Resolve(context.Context, string) (authctx.Target, error) {
	return authctx.Target{Backend: r.target, Tenant: r.tenant}, nil
}

// nilBackend returns nothing and no error, as a buggy backend could.
type nilBackend struct{ fakeBackend }

func (*nilBackend) GetIncident(context.Context, string, bool) (*defender.Incident, error) {
	return nil, nil
}
func (*nilBackend) ListIncidents(context.Context, defender.ListQuery) (*defender.IncidentPage, error) {
	return nil, nil
}
func (*nilBackend) RunHuntingQuery(context.Context, defender.HuntingQuery) (*defender.HuntingResult, error) {
	return nil, nil
}

func TestServicesSurviveBrokenDependencies(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		resolver Resolver
	}{
		{"nil resolver", nil},
		{"target without backend", badResolver{tenant: canonicalTenant}},
		{"target without tenant", badResolver{target: newFakeBackend(1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := NewIncidentService(tc.resolver, nil, nil)
			_, err := svc.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: incident1000})
			wantCode(t, err, codes.Internal, defender.ReasonInternal)
			_, err = svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default"})
			wantCode(t, err, codes.Internal, defender.ReasonInternal)
			_, err = NewHuntingService(tc.resolver, nil).RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "x"})
			wantCode(t, err, codes.Internal, defender.ReasonInternal)
		})
	}
	t.Run("backend returning nothing", func(t *testing.T) {
		r := fakeResolver{backend: &nilBackend{}}
		svc := NewIncidentService(r, nil, nil)
		_, err := svc.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: incident1000})
		wantCode(t, err, codes.Internal, defender.ReasonInternal)
		list, err := svc.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default"})
		if err != nil || len(list.GetIncidents()) != 0 || list.GetNextPageToken() != "" {
			t.Errorf("ListIncidents = %v, %v; want an empty last page", list, err)
		}
		resp, err := NewHuntingService(r, nil).RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "x"})
		if err != nil || len(resp.GetRows()) != 0 {
			t.Errorf("RunQuery = %v, %v; want an empty result", resp, err)
		}
	})
}
