package service

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

func TestListIncidentsTranslatesTheRequest(t *testing.T) {
	cases := []struct {
		name       string
		req        *defenderv1.ListIncidentsRequest
		size       int
		withAlerts bool
		alerts     int // alerts on the first incident returned
	}{
		{"defaults: 50, basic view", &defenderv1.ListIncidentsRequest{Parent: "tenants/default"}, 50, false, 0},
		{"page size 1", &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: 1}, 1, false, 0},
		{"page size 500, full view", &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: 500,
			View: defenderv1.IncidentView_INCIDENT_VIEW_FULL}, 500, true, 1},
		{"explicit basic view", &defenderv1.ListIncidentsRequest{Parent: "tenants/" + canonicalTenant,
			View: defenderv1.IncidentView_INCIDENT_VIEW_BASIC}, 50, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backend := newFakeBackend(3)
			svc, _ := newIncidentService(t, backend)
			resp, err := svc.ListIncidents(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			q := backend.lists[0]
			if q.PageSize != tc.size || q.WithAlerts != tc.withAlerts || q.Cursor != "" {
				t.Errorf("backend query = %+v, want size %d, alerts %v, no cursor", q, tc.size, tc.withAlerts)
			}
			if got := len(resp.GetIncidents()[0].GetAlerts()); got != tc.alerts {
				t.Errorf("first incident has %d alerts, want %d", got, tc.alerts)
			}
		})
	}
}

func TestListIncidentsConvertsIncidents(t *testing.T) {
	backend := newFakeBackend(0)
	backend.incidents = []defender.Incident{{
		ID: "7", DisplayName: "Ransomware", Status: defender.StatusRedirected, StatusRaw: "redirected",
		Severity: defender.SeverityMedium, Classification: defender.Classification(42), Determination: defender.DeterminationPhishing,
		RedirectIncidentID: "8", Tags: []string{"a"}, CreateTime: baseTime, UpdateTime: baseTime.Add(time.Minute),
		Comments: []defender.Comment{{Text: "hi", Author: "me"}},
	}}
	svc, _ := newIncidentService(t, backend)
	resp, err := svc.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/default"})
	if err != nil {
		t.Fatal(err)
	}
	want := &defenderv1.ListIncidentsResponse{Incidents: []*defenderv1.Incident{{
		Name:             "tenants/" + canonicalTenant + "/incidents/7",
		Id:               "7",
		DisplayName:      "Ransomware",
		Status:           defenderv1.IncidentStatus_INCIDENT_STATUS_REDIRECTED,
		StatusRaw:        "redirected",
		Severity:         defenderv1.Severity_SEVERITY_MEDIUM,
		Classification:   defenderv1.Classification_CLASSIFICATION_UNKNOWN, // a value the table does not know
		Determination:    defenderv1.Determination_DETERMINATION_PHISHING,
		RedirectIncident: "tenants/" + canonicalTenant + "/incidents/8",
		Tags:             []string{"a"},
		Comments:         []*defenderv1.Comment{{Text: "hi", Author: "me"}},
		CreateTime:       timestamppb.New(baseTime),
		UpdateTime:       timestamppb.New(baseTime.Add(time.Minute)),
		Etag:             incidentEtag("7", baseTime.Add(time.Minute)),
	}}}
	if diff := cmp.Diff(want, resp, protocmp.Transform()); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

func TestListIncidentsRejectsBadRequestsBeforeCallingTheBackend(t *testing.T) {
	cases := []struct {
		name  string
		req   *defenderv1.ListIncidentsRequest
		field string
	}{
		{"nil request", nil, "parent"},
		{"malformed parent", &defenderv1.ListIncidentsRequest{Parent: "tenants/bad_tenant"}, "parent"},
		{"negative page size", &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: -1}, "page_size"},
		{"page size 501", &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: 501}, "page_size"},
		{"undefined view", &defenderv1.ListIncidentsRequest{Parent: "tenants/default", View: 7}, "view"},
		{"bad status", &defenderv1.ListIncidentsRequest{Parent: "tenants/default", Statuses: []defenderv1.IncidentStatus{1}}, "statuses[0]"},
		{"garbage page token", &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageToken: "garbage"}, "page_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backend := newFakeBackend(3)
			svc, _ := newIncidentService(t, backend)
			_, err := svc.ListIncidents(context.Background(), tc.req)
			st := wantFieldError(t, err, tc.field)
			if tc.field == "page_size" && st.Message() != "page_size: page_size must be between 0 and 500" {
				t.Errorf("message = %q", st.Message())
			}
			if n := backend.callCount(); n != 0 {
				t.Errorf("the backend was called %d times", n)
			}
		})
	}
}

func TestListIncidentsPagesWithTokens(t *testing.T) {
	backend := newFakeBackend(5)
	svc, _ := newIncidentService(t, backend)
	req := &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: 2,
		Statuses: []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE}}
	var names []string
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		resp, err := svc.ListIncidents(context.Background(), req)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		for _, in := range resp.GetIncidents() {
			names = append(names, in.GetId())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
		// page_size may change between pages; the alias of the tenant too,
		// as the token binds the canonical tenant.
		req.PageSize = 1 + int32(page%2)
		req.Parent = "tenants/" + canonicalTenant
	}
	if diff := cmp.Diff([]string{"1000", "1001", "1002", "1003", "1004"}, names); diff != "" {
		t.Errorf("paged ids (-want +got):\n%s", diff)
	}
	if got := backend.lists[1].Cursor; got != "2" {
		t.Errorf("second page's cursor = %q, want the backend's %q", got, "2")
	}
}

// The page token of a first page of a listing with filters, and the request
// it belongs to.
func firstPage(t *testing.T, svc *IncidentService) (*defenderv1.ListIncidentsRequest, string) {
	t.Helper()
	return firstPageIn(t, context.Background(), svc)
}

// firstPageIn is firstPage for a call in ctx.
func firstPageIn(t *testing.T, ctx context.Context, svc *IncidentService) (*defenderv1.ListIncidentsRequest, string) {
	t.Helper()
	req := &defenderv1.ListIncidentsRequest{
		Parent:          "tenants/default",
		PageSize:        2,
		Statuses:        []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE},
		Severities:      []defenderv1.Severity{defenderv1.Severity_SEVERITY_HIGH},
		AssignedTo:      "a@contoso.com",
		CreateTimeRange: &defenderv1.TimeRange{StartTime: timestamppb.New(baseTime.Add(-48 * time.Hour))},
	}
	resp, err := svc.ListIncidents(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetNextPageToken() == "" {
		t.Fatal("no next page token")
	}
	return req, resp.GetNextPageToken()
}

func TestListIncidentsRejectsForeignAndAlteredTokens(t *testing.T) {
	backend := newFakeBackend(5)
	backend.incidents[0].AssignedTo = "a@contoso.com"
	svc, now := newIncidentService(t, backend)
	base, token := firstPage(t, svc)

	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	flipped := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(b)
	}
	otherKey := NewIncidentService(fakeResolver{backend: backend}, testCodec(t, 2), nil)
	otherKey.tokens.now = svc.tokens.now
	_, foreignToken := firstPage(t, otherKey)

	cases := []struct {
		name   string
		edit   func(r *defenderv1.ListIncidentsRequest)
		expire time.Duration
	}{
		{name: "flipped payload byte", edit: func(r *defenderv1.ListIncidentsRequest) { r.PageToken = flipped(len(raw) / 3) }},
		{name: "flipped tag byte", edit: func(r *defenderv1.ListIncidentsRequest) { r.PageToken = flipped(len(raw) - 1) }},
		{name: "truncated", edit: func(r *defenderv1.ListIncidentsRequest) { r.PageToken = token[:len(token)-4] }},
		{name: "other key", edit: func(r *defenderv1.ListIncidentsRequest) { r.PageToken = foreignToken }},
		{name: "another parent", edit: func(r *defenderv1.ListIncidentsRequest) { r.Parent = "tenants/" + otherTenant }},
		{name: "another status filter", edit: func(r *defenderv1.ListIncidentsRequest) {
			r.Statuses = []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED}
		}},
		{name: "severity filter dropped", edit: func(r *defenderv1.ListIncidentsRequest) { r.Severities = nil }},
		{name: "another owner", edit: func(r *defenderv1.ListIncidentsRequest) { r.AssignedTo = "b@contoso.com" }},
		{name: "another create range", edit: func(r *defenderv1.ListIncidentsRequest) {
			r.CreateTimeRange = &defenderv1.TimeRange{StartTime: timestamppb.New(baseTime.Add(-47 * time.Hour))}
		}},
		{name: "an update range added", edit: func(r *defenderv1.ListIncidentsRequest) {
			r.UpdateTimeRange = &defenderv1.TimeRange{EndTime: timestamppb.New(baseTime)}
		}},
		{name: "another view", edit: func(r *defenderv1.ListIncidentsRequest) { r.View = defenderv1.IncidentView_INCIDENT_VIEW_FULL }},
		{name: "expired", expire: pageTokenTTL + time.Second},
		{name: "from the future", expire: -pageTokenSkew - time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := protoClone(base)
			req.PageToken = token
			if tc.edit != nil {
				tc.edit(req)
			}
			saved := *now
			*now = saved.Add(tc.expire)
			defer func() { *now = saved }()
			calls := backend.callCount()

			_, err := svc.ListIncidents(context.Background(), req)

			st := wantFieldError(t, err, "page_token")
			if st.Message() != "page_token: "+invalidPageToken {
				t.Errorf("message = %q", st.Message())
			}
			if n := backend.callCount() - calls; n != 0 {
				t.Errorf("the backend was called %d times", n)
			}
		})
	}
	t.Run("the unchanged token still works, within its lifetime", func(t *testing.T) {
		req := protoClone(base)
		req.PageToken = token
		*now = now.Add(pageTokenTTL - time.Second)
		if _, err := svc.ListIncidents(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	})
}

func TestListIncidentsTokenBindsTheBackendKind(t *testing.T) {
	backend := newFakeBackend(5)
	backend.incidents[0].AssignedTo = "a@contoso.com"
	svc, _ := newIncidentService(t, backend)
	req, token := firstPage(t, svc)
	backend.kind = defender.BackendXDR // the gateway was reconfigured
	req.PageToken = token
	_, err := svc.ListIncidents(context.Background(), req)
	wantFieldError(t, err, "page_token")
}

func TestListIncidentsRefusesATenantNoContextServes(t *testing.T) {
	backend := newFakeBackend(1)
	svc, _ := newIncidentService(t, backend)
	_, err := svc.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/fabrikam.com"})
	wantCode(t, err, codes.PermissionDenied, defender.ReasonTenantNotAllowed)
	if n := backend.callCount(); n != 0 {
		t.Errorf("the backend was called %d times", n)
	}
}

func TestListIncidentsPassesBackendErrorsThroughToStatus(t *testing.T) {
	backend := newFakeBackend(1)
	backend.err = &defender.Error{Kind: defender.KindThrottled, Reason: defender.ReasonThrottled, Message: "quota", RetryAfter: time.Second, Cause: secretCause}
	svc, _ := newIncidentService(t, backend)
	_, err := svc.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/default"})
	st := wantCode(t, err, codes.ResourceExhausted, defender.ReasonThrottled)
	if st.Message() != "quota" {
		t.Errorf("message = %q", st.Message())
	}
}
