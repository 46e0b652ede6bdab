package service

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

func TestFilterFromRequest(t *testing.T) {
	t1, t2 := baseTime, baseTime.Add(time.Hour)
	ts := timestamppb.New
	cases := []struct {
		name      string
		req       *defenderv1.ListIncidentsRequest
		want      defender.IncidentFilter
		wantField string
	}{
		{name: "nil request", req: nil},
		{name: "no filter", req: &defenderv1.ListIncidentsRequest{}},
		{name: "every filter", req: &defenderv1.ListIncidentsRequest{
			Statuses:        []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE, defenderv1.IncidentStatus_INCIDENT_STATUS_AWAITING_ACTION},
			Severities:      []defenderv1.Severity{defenderv1.Severity_SEVERITY_HIGH, defenderv1.Severity_SEVERITY_UNKNOWN},
			AssignedTo:      "o'brien@contoso.com",
			CreateTimeRange: &defenderv1.TimeRange{StartTime: ts(t1), EndTime: ts(t2)},
			UpdateTimeRange: &defenderv1.TimeRange{EndTime: ts(t2)},
		}, want: defender.IncidentFilter{
			Statuses:      []defender.IncidentStatus{defender.StatusActive, defender.StatusAwaitingAction},
			Severities:    []defender.Severity{defender.SeverityHigh, defender.SeverityUnknown},
			AssignedTo:    "o'brien@contoso.com",
			CreatedFrom:   t1,
			CreatedBefore: t2,
			UpdatedBefore: t2,
		}},
		{name: "open start of update range", req: &defenderv1.ListIncidentsRequest{UpdateTimeRange: &defenderv1.TimeRange{StartTime: ts(t1)}},
			want: defender.IncidentFilter{UpdatedFrom: t1}},
		{name: "unspecified status", req: &defenderv1.ListIncidentsRequest{
			Statuses: []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE, 0}}, wantField: "statuses[1]"},
		{name: "unknown status", req: &defenderv1.ListIncidentsRequest{
			Statuses: []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_UNKNOWN}}, wantField: "statuses[0]"},
		{name: "undefined status", req: &defenderv1.ListIncidentsRequest{Statuses: []defenderv1.IncidentStatus{99}}, wantField: "statuses[0]"},
		{name: "too many statuses", req: &defenderv1.ListIncidentsRequest{Statuses: make([]defenderv1.IncidentStatus, 9)}, wantField: "statuses"},
		{name: "unspecified severity", req: &defenderv1.ListIncidentsRequest{Severities: []defenderv1.Severity{0}}, wantField: "severities[0]"},
		{name: "undefined severity", req: &defenderv1.ListIncidentsRequest{
			Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_LOW, -3}}, wantField: "severities[1]"},
		{name: "assigned_to too long", req: &defenderv1.ListIncidentsRequest{AssignedTo: string(make([]byte, 257))}, wantField: "assigned_to"},
		{name: "empty create range", req: &defenderv1.ListIncidentsRequest{CreateTimeRange: &defenderv1.TimeRange{StartTime: ts(t1), EndTime: ts(t1)}},
			wantField: "create_time_range"},
		{name: "inverted update range", req: &defenderv1.ListIncidentsRequest{UpdateTimeRange: &defenderv1.TimeRange{StartTime: ts(t2), EndTime: ts(t1)}},
			wantField: "update_time_range"},
		{name: "invalid start", req: &defenderv1.ListIncidentsRequest{CreateTimeRange: &defenderv1.TimeRange{StartTime: &timestamppb.Timestamp{Nanos: -1}}},
			wantField: "create_time_range.start_time"},
		{name: "invalid end", req: &defenderv1.ListIncidentsRequest{UpdateTimeRange: &defenderv1.TimeRange{EndTime: &timestamppb.Timestamp{Seconds: 1 << 62}}},
			wantField: "update_time_range.end_time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := filterFromRequest(tc.req)
			if tc.wantField != "" {
				wantFieldError(t, err, tc.wantField)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("filter (-want +got):\n%s", diff)
			}
		})
	}
}
