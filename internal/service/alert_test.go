package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

const alertDA0 = "tenants/default/alerts/da0"

// newAlertService serves backend with a fixed key and a clock the test can
// move.
func newAlertService(t *testing.T, backend *fakeBackend) (*AlertService, *time.Time) {
	t.Helper()
	svc := NewAlertService(fakeResolver{backend: backend}, testCodec(t, 1), nil)
	now := baseTime
	svc.tokens.now = func() time.Time { return now }
	return svc, &now
}

func TestListAlertsTranslatesTheRequest(t *testing.T) {
	backend := newFakeBackend(3)
	svc, _ := newAlertService(t, backend)
	_, err := svc.ListAlerts(context.Background(), &defenderv1.ListAlertsRequest{
		Parent:           "tenants/default",
		PageSize:         7,
		Statuses:         []defenderv1.AlertStatus{defenderv1.AlertStatus_ALERT_STATUS_NEW, defenderv1.AlertStatus_ALERT_STATUS_RESOLVED},
		Severities:       []defenderv1.Severity{defenderv1.Severity_SEVERITY_HIGH},
		ServiceSources:   []string{"microsoftDefenderForEndpoint"},
		DetectionSources: []string{"antivirus"},
		AssignedTo:       "o'brien@contoso.com",
		CreateTimeRange:  &defenderv1.TimeRange{StartTime: timestamppb.New(baseTime.Add(-time.Hour))},
		UpdateTimeRange:  &defenderv1.TimeRange{EndTime: timestamppb.New(baseTime)},
		Incident:         "tenants/" + canonicalTenant + "/incidents/1001",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []defender.AlertListQuery{{PageSize: 7, Filter: defender.AlertFilter{
		Statuses:         []defender.AlertStatus{defender.AlertStatusNew, defender.AlertStatusResolved},
		Severities:       []defender.Severity{defender.SeverityHigh},
		ServiceSources:   []string{"microsoftDefenderForEndpoint"},
		DetectionSources: []string{"antivirus"},
		AssignedTo:       "o'brien@contoso.com",
		IncidentID:       "1001",
		CreatedFrom:      baseTime.Add(-time.Hour),
		UpdatedBefore:    baseTime,
	}}}
	if diff := cmp.Diff(want, backend.alertLists); diff != "" {
		t.Errorf("backend queries (-want +got):\n%s", diff)
	}
}

func TestListAlertsRejectsBadRequestsBeforeCallingTheBackend(t *testing.T) {
	cases := []struct {
		name  string
		req   *defenderv1.ListAlertsRequest
		field string
	}{
		{"bad parent", &defenderv1.ListAlertsRequest{Parent: "tenants/"}, "parent"},
		{"negative page size", &defenderv1.ListAlertsRequest{Parent: "tenants/default", PageSize: -1}, "page_size"},
		{"unknown status", &defenderv1.ListAlertsRequest{Parent: "tenants/default", Statuses: []defenderv1.AlertStatus{defenderv1.AlertStatus_ALERT_STATUS_UNKNOWN}}, "statuses[0]"},
		{"unspecified severity", &defenderv1.ListAlertsRequest{Parent: "tenants/default", Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_UNSPECIFIED}}, "severities[0]"},
		{"service source with a quote", &defenderv1.ListAlertsRequest{Parent: "tenants/default", ServiceSources: []string{"x' or 1 eq 1"}}, "service_sources[0]"},
		{"detection source empty", &defenderv1.ListAlertsRequest{Parent: "tenants/default", DetectionSources: []string{"edr", ""}}, "detection_sources[1]"},
		{"incident of another tenant", &defenderv1.ListAlertsRequest{Parent: "tenants/default", Incident: "tenants/" + otherTenant + "/incidents/1"}, "incident"},
		{"malformed incident", &defenderv1.ListAlertsRequest{Parent: "tenants/default", Incident: "tenants/default/incidents/007"}, "incident"},
		{"empty create range", &defenderv1.ListAlertsRequest{Parent: "tenants/default", CreateTimeRange: &defenderv1.TimeRange{
			StartTime: timestamppb.New(baseTime), EndTime: timestamppb.New(baseTime)}}, "create_time_range"},
		{"garbage token", &defenderv1.ListAlertsRequest{Parent: "tenants/default", PageToken: "garbage"}, "page_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backend := newFakeBackend(2)
			svc, _ := newAlertService(t, backend)
			_, err := svc.ListAlerts(context.Background(), tc.req)
			wantFieldError(t, err, tc.field)
			if n := backend.callCount(); n != 0 {
				t.Errorf("the backend was called %d times", n)
			}
		})
	}
}

// TestListAlertsPagesWithTokens: a listing pages through every alert once
// with its tokens; a token does not continue another filter, another
// caller's listing, or an incident listing.
func TestListAlertsPagesWithTokens(t *testing.T) {
	backend := newFakeBackend(5)
	svc, _ := newAlertService(t, backend)
	ctx := caller.NewContext(context.Background(), &caller.Request{Identity: caller.Identity{Kind: caller.KindAPIKey, Name: "api-key:soc-bot"}})
	req := &defenderv1.ListAlertsRequest{Parent: "tenants/default", PageSize: 2, Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_HIGH}}
	var ids []string
	var firstToken string
	for range 10 {
		resp, err := svc.ListAlerts(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.GetAlerts() {
			ids = append(ids, a.GetId())
		}
		if firstToken == "" {
			firstToken = resp.GetNextPageToken()
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if got := strings.Join(ids, ","); got != "da0,da1,da2,da3,da4" {
		t.Errorf("ids = %s, want da0..da4 once each", got)
	}

	incSvc, _ := newIncidentService(t, backend)
	_, incToken := firstPageIn(t, ctx, incSvc)
	cases := []struct {
		name string
		ctx  context.Context
		edit func(r *defenderv1.ListAlertsRequest)
	}{
		{"another filter", ctx, func(r *defenderv1.ListAlertsRequest) { r.Severities = nil }},
		{"another service source", ctx, func(r *defenderv1.ListAlertsRequest) { r.ServiceSources = []string{"microsoftDefenderForOffice365"} }},
		{"another incident", ctx, func(r *defenderv1.ListAlertsRequest) { r.Incident = "tenants/default/incidents/1000" }},
		{"another caller", caller.NewContext(context.Background(), &caller.Request{Identity: caller.Identity{Kind: caller.KindAPIKey, Name: "api-key:other"}}), nil},
		{"an incident listing's token", ctx, func(r *defenderv1.ListAlertsRequest) { r.PageToken = incToken }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &defenderv1.ListAlertsRequest{Parent: "tenants/default", PageSize: 2,
				Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_HIGH}, PageToken: firstToken}
			if tc.edit != nil {
				tc.edit(r)
			}
			calls := backend.callCount()
			_, err := svc.ListAlerts(tc.ctx, r)
			wantFieldError(t, err, "page_token")
			if n := backend.callCount() - calls; n != 0 {
				t.Errorf("the backend was called %d times", n)
			}
		})
	}
}

func TestGetAlertConvertsTheAlert(t *testing.T) {
	backend := newFakeBackend(1)
	backend.incidents[0].Alerts[0] = defender.Alert{
		ID: "da0", Title: "Suspicious PowerShell", Status: defender.AlertStatusUnknown, StatusRaw: "someFutureStatus",
		Severity: defender.SeverityMedium, SeverityRaw: "medium",
		Classification: defender.ClassificationTruePositive, ClassificationRaw: "truePositive",
		Determination: defender.DeterminationUnknown, DeterminationRaw: "newDetermination",
		ServiceSource: "microsoftDefenderForEndpoint", DetectionSource: "edr", DetectorID: "det-1", ProviderAlertID: "p-1",
		RecommendedActions: "Isolate the device.", MitreTechniques: []string{"T1059.001"},
		IncidentWebURL: "https://security.microsoft.com/incidents/1000", SystemTags: []string{"Defender Experts"},
		CreateTime: baseTime, ResolveTime: baseTime.Add(time.Hour),
		Comments: []defender.Comment{{Text: "seen", Author: "Ann", CreateTime: baseTime}},
		Evidence: []defender.Evidence{{Type: "process", ProcessID: 42}},
	}
	svc, _ := newAlertService(t, backend)
	got, err := svc.GetAlert(context.Background(), &defenderv1.GetAlertRequest{Name: alertDA0})
	if err != nil {
		t.Fatal(err)
	}
	want := &defenderv1.Alert{
		Name: "tenants/" + canonicalTenant + "/alerts/da0", Id: "da0", Title: "Suspicious PowerShell",
		Incident: "tenants/" + canonicalTenant + "/incidents/1000",
		Status:   defenderv1.AlertStatus_ALERT_STATUS_UNKNOWN, StatusRaw: "someFutureStatus",
		Severity: defenderv1.Severity_SEVERITY_MEDIUM, SeverityRaw: "medium",
		Classification: defenderv1.Classification_CLASSIFICATION_TRUE_POSITIVE, ClassificationRaw: "truePositive",
		Determination: defenderv1.Determination_DETERMINATION_UNKNOWN, DeterminationRaw: "newDetermination",
		ServiceSource: "microsoftDefenderForEndpoint", DetectionSource: "edr", DetectorId: "det-1", ProviderAlertId: "p-1",
		RecommendedActions: "Isolate the device.", MitreTechniques: []string{"T1059.001"},
		IncidentWebUrl: "https://security.microsoft.com/incidents/1000", SystemTags: []string{"Defender Experts"},
		CreateTime: timestamppb.New(baseTime), ResolveTime: timestamppb.New(baseTime.Add(time.Hour)),
		Comments: []*defenderv1.Comment{{Text: "seen", Author: "Ann", CreateTime: timestamppb.New(baseTime)}},
		Evidence: []*defenderv1.Evidence{{Type: "process", ProcessId: 42}},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("alert (-want +got):\n%s", diff)
	}
}

func TestAlertNames(t *testing.T) {
	for _, name := range []string{"", "tenants/default/alerts/", "tenants/default/alerts/a/b", "tenants/default/alerts/-a",
		"tenants/default/alerts/a%2Fb", "tenants/default/incidents/1", "tenants//alerts/da1", "tenants/default/alerts/" + strings.Repeat("a", 129)} {
		backend := newFakeBackend(1)
		svc, _ := newAlertService(t, backend)
		_, err := svc.GetAlert(context.Background(), &defenderv1.GetAlertRequest{Name: name})
		wantFieldError(t, err, "name")
		if backend.callCount() != 0 {
			t.Errorf("%q: the backend was called", name)
		}
	}
}

func TestUpdateAlertTranslatesTheMask(t *testing.T) {
	full := &defenderv1.Alert{
		Name:           alertDA0,
		Status:         defenderv1.AlertStatus_ALERT_STATUS_RESOLVED,
		AssignedTo:     "o'brien@contoso.com",
		Classification: defenderv1.Classification_CLASSIFICATION_FALSE_POSITIVE,
		Determination:  defenderv1.Determination_DETERMINATION_CLEAN,
		Title:          "ignored: not in the mask",
	}
	cases := []struct {
		name    string
		req     *defenderv1.UpdateAlertRequest
		want    defender.AlertUpdate
		wantErr string
	}{
		{name: "every field and a comment", req: &defenderv1.UpdateAlertRequest{Alert: full,
			UpdateMask: mask("status", "assignedTo", "classification", "determination"), Comment: "benign"},
			want: defender.AlertUpdate{Status: ptr(defender.AlertStatusResolved), AssignedTo: ptr("o'brien@contoso.com"),
				Classification: ptr(defender.ClassificationFalsePositive), Determination: ptr(defender.DeterminationClean), Comment: "benign"}},
		{name: "comment alone", req: &defenderv1.UpdateAlertRequest{Alert: &defenderv1.Alert{Name: alertDA0}, Comment: "note"},
			want: defender.AlertUpdate{Comment: "note"}},
		{name: "name path ignored", req: &defenderv1.UpdateAlertRequest{Alert: full, UpdateMask: mask("name", "status")},
			want: defender.AlertUpdate{Status: ptr(defender.AlertStatusResolved)}},
		{name: "no alert", req: &defenderv1.UpdateAlertRequest{}, wantErr: "alert"},
		{name: "bad name", req: &defenderv1.UpdateAlertRequest{Alert: &defenderv1.Alert{Name: "tenants/default/incidents/1"}, Comment: "x"}, wantErr: "alert.name"},
		{name: "empty", req: &defenderv1.UpdateAlertRequest{Alert: full}, wantErr: "update_mask"},
		{name: "tags are not an alert field", req: &defenderv1.UpdateAlertRequest{Alert: full, UpdateMask: mask("tags")}, wantErr: "update_mask"},
		{name: "full replacement", req: &defenderv1.UpdateAlertRequest{Alert: full, UpdateMask: mask("*")}, wantErr: "update_mask"},
		{name: "XDR-only status", req: &defenderv1.UpdateAlertRequest{Alert: &defenderv1.Alert{Name: alertDA0, Status: defenderv1.AlertStatus_ALERT_STATUS_ACTIVE},
			UpdateMask: mask("status")}, wantErr: "alert.status"},
		{name: "determination without classification", req: &defenderv1.UpdateAlertRequest{Alert: full, UpdateMask: mask("determination")}, wantErr: "update_mask"},
		{name: "determination not allowed with the classification", req: &defenderv1.UpdateAlertRequest{Alert: &defenderv1.Alert{Name: alertDA0,
			Classification: defenderv1.Classification_CLASSIFICATION_FALSE_POSITIVE, Determination: defenderv1.Determination_DETERMINATION_MALWARE},
			UpdateMask: mask("classification", "determination")}, wantErr: "alert.determination"},
		{name: "unknown classification", req: &defenderv1.UpdateAlertRequest{Alert: &defenderv1.Alert{Name: alertDA0,
			Classification: defenderv1.Classification_CLASSIFICATION_UNKNOWN}, UpdateMask: mask("classification")}, wantErr: "alert.classification"},
		{name: "whitespace comment", req: &defenderv1.UpdateAlertRequest{Alert: &defenderv1.Alert{Name: alertDA0}, Comment: " \n "}, wantErr: "comment"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backend := newFakeBackend(1)
			svc, _ := newAlertService(t, backend)
			got, err := svc.UpdateAlert(context.Background(), tc.req)
			if tc.wantErr != "" {
				wantFieldError(t, err, tc.wantErr)
				if n := backend.callCount(); n != 0 {
					t.Errorf("the backend was called %d times", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]defender.AlertUpdate{tc.want}, backend.alertUpdates); diff != "" {
				t.Errorf("backend update (-want +got):\n%s", diff)
			}
			if got.GetName() != "tenants/"+canonicalTenant+"/alerts/da0" {
				t.Errorf("name = %q", got.GetName())
			}
		})
	}
}

func TestAlertBackendErrorsBecomeStatuses(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		code   codes.Code
		reason string
	}{
		{"not found", defender.Errorf(defender.KindNotFound, defender.ReasonNotFound, "alert da0 not found"), codes.NotFound, defender.ReasonNotFound},
		{"XDR", defender.Errorf(defender.KindUnimplemented, defender.ReasonUnsupportedByBackend, "listing alerts is not supported by the xdr backend"),
			codes.Unimplemented, defender.ReasonUnsupportedByBackend},
		{"throttled", &defender.Error{Kind: defender.KindThrottled, Reason: defender.ReasonThrottled, RetryAfter: time.Second}, codes.ResourceExhausted, defender.ReasonThrottled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backend := newFakeBackend(1)
			backend.err = tc.err
			svc, _ := newAlertService(t, backend)
			ctx := context.Background()
			_, err := svc.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: "tenants/default"})
			wantCode(t, err, tc.code, tc.reason)
			_, err = svc.GetAlert(ctx, &defenderv1.GetAlertRequest{Name: alertDA0})
			wantCode(t, err, tc.code, tc.reason)
			_, err = svc.UpdateAlert(ctx, &defenderv1.UpdateAlertRequest{Alert: &defenderv1.Alert{Name: alertDA0}, Comment: "x"})
			wantCode(t, err, tc.code, tc.reason)
		})
	}
}
