package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

const incident1000 = "tenants/default/incidents/1000"

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func ptr[T any](v T) *T { return &v }

func TestUpdateIncidentTranslatesTheMask(t *testing.T) {
	full := &defenderv1.Incident{
		Name:           incident1000,
		Status:         defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED,
		AssignedTo:     "o'brien@contoso.com",
		Classification: defenderv1.Classification_CLASSIFICATION_TRUE_POSITIVE,
		Determination:  defenderv1.Determination_DETERMINATION_MALWARE,
		Tags:           []string{"e2e", strings.Repeat("x", 128)},
		DisplayName:    "ignored: not in the mask",
	}
	cases := []struct {
		name    string
		req     *defenderv1.UpdateIncidentRequest
		want    defender.IncidentUpdate
		wantErr string // the field of an expected error
	}{
		{name: "every field and a comment", req: &defenderv1.UpdateIncidentRequest{Incident: full,
			UpdateMask: mask("status", "assigned_to", "classification", "determination", "tags"), Comment: "contained"},
			want: defender.IncidentUpdate{Status: ptr(defender.StatusResolved), AssignedTo: ptr("o'brien@contoso.com"),
				Classification: ptr(defender.ClassificationTruePositive), Determination: ptr(defender.DeterminationMalware),
				Tags: &[]string{"e2e", strings.Repeat("x", 128)}, Comment: "contained"}},
		{name: "only the masked field", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask("assigned_to")},
			want: defender.IncidentUpdate{AssignedTo: ptr("o'brien@contoso.com")}},
		{name: "empty owner unassigns", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000}, UpdateMask: mask("assigned_to")},
			want: defender.IncidentUpdate{AssignedTo: ptr("")}},
		{name: "no tags clears them", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000}, UpdateMask: mask("tags")},
			want: defender.IncidentUpdate{Tags: &[]string{}}},
		{name: "classification alone", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask("classification")},
			want: defender.IncidentUpdate{Classification: ptr(defender.ClassificationTruePositive)}},
		{name: "comment alone, no mask", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000}, Comment: " note "},
			want: defender.IncidentUpdate{Comment: " note "}},
		{name: "name and etag paths are ignored", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask("name", "etag", "status")},
			want: defender.IncidentUpdate{Status: ptr(defender.StatusResolved)}},
		{name: "redirected status", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000,
			Status: defenderv1.IncidentStatus_INCIDENT_STATUS_REDIRECTED}, UpdateMask: mask("status")},
			want: defender.IncidentUpdate{Status: ptr(defender.StatusRedirected)}},

		{name: "nil request", req: nil, wantErr: "incident"},
		{name: "nil incident", req: &defenderv1.UpdateIncidentRequest{UpdateMask: mask("status")}, wantErr: "incident"},
		{name: "malformed name", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: "tenants/default/incidents/x"}, Comment: "c"},
			wantErr: "incident.name"},
		{name: "empty update", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000}}, wantErr: "update_mask"},
		{name: "empty mask, empty comment", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask()}, wantErr: "update_mask"},
		{name: "only ignored paths", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask("name", "etag")}, wantErr: "update_mask"},
		{name: "whitespace comment", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000}, Comment: " \t\n"},
			wantErr: "comment"},
		{name: "unknown path", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask("severity")}, wantErr: "update_mask"},
		{name: "JSON names as paths, as REST users write them", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask("assignedTo", " status")},
			want: defender.IncidentUpdate{AssignedTo: ptr("o'brien@contoso.com"), Status: ptr(defender.StatusResolved)}},
		{name: "unknown JSON name path", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask("displayName")}, wantErr: "update_mask"},
		{name: "wildcard", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask("*")}, wantErr: "update_mask"},
		{name: "unspecified status", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000}, UpdateMask: mask("status")},
			wantErr: "incident.status"},
		{name: "awaiting action status", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000,
			Status: defenderv1.IncidentStatus_INCIDENT_STATUS_AWAITING_ACTION}, UpdateMask: mask("status")}, wantErr: "incident.status"},
		{name: "unknown status", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000,
			Status: defenderv1.IncidentStatus_INCIDENT_STATUS_UNKNOWN}, UpdateMask: mask("status")}, wantErr: "incident.status"},
		{name: "unspecified classification", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000},
			UpdateMask: mask("classification")}, wantErr: "incident.classification"},
		{name: "unknown classification", req: &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: incident1000,
			Classification: defenderv1.Classification_CLASSIFICATION_UNKNOWN}, UpdateMask: mask("classification")}, wantErr: "incident.classification"},
		{name: "determination without classification", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask("determination")},
			wantErr: "update_mask"},
		{name: "invalid expect_update_time", req: &defenderv1.UpdateIncidentRequest{Incident: full, UpdateMask: mask("status"),
			ExpectUpdateTime: &timestamppb.Timestamp{Nanos: 2e9}}, wantErr: "expect_update_time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backend := newFakeBackend(1)
			svc, _ := newIncidentService(t, backend)
			_, err := svc.UpdateIncident(context.Background(), tc.req)
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
			if diff := cmp.Diff([]defender.IncidentUpdate{tc.want}, backend.updates); diff != "" {
				t.Errorf("backend update (-want +got):\n%s", diff)
			}
		})
	}
}

// The pairs of incident.proto's comment on enum Determination, written out
// independently of the service's table.
var documentedPairs = map[defenderv1.Classification][]defenderv1.Determination{
	defenderv1.Classification_CLASSIFICATION_TRUE_POSITIVE:                   {9, 12, 10, 4, 11, 7, 8},
	defenderv1.Classification_CLASSIFICATION_INFORMATIONAL_EXPECTED_ACTIVITY: {6, 16, 15, 8},
	defenderv1.Classification_CLASSIFICATION_FALSE_POSITIVE:                  {13, 14, 8},
}

func TestUpdateIncidentChecksEveryClassificationDeterminationPair(t *testing.T) {
	backend := newFakeBackend(1)
	svc, _ := newIncidentService(t, backend)
	for c := range documentedPairs {
		for dn := range defenderv1.Determination_name {
			d := defenderv1.Determination(dn)
			t.Run(fmt.Sprintf("%s/%s", c, d), func(t *testing.T) {
				_, err := svc.UpdateIncident(context.Background(), &defenderv1.UpdateIncidentRequest{
					Incident:   &defenderv1.Incident{Name: incident1000, Classification: c, Determination: d},
					UpdateMask: mask("classification", "determination"),
				})
				if slices.Contains(documentedPairs[c], d) {
					if err != nil {
						t.Fatalf("a documented pair was refused: %v", err)
					}
					return
				}
				st := wantFieldError(t, err, "incident.determination")
				for _, allowed := range documentedPairs[c] {
					if !strings.Contains(st.Message(), allowed.String()) {
						t.Errorf("message %q does not list the allowed %s", st.Message(), allowed)
					}
				}
			})
		}
	}
}

// A REST PATCH without update_mask gets one from grpc-gateway, built from
// the JSON body's fields. Run the gateway's own function on bodies clients
// send and check the service accepts exactly the intended update.
func TestUpdateIncidentAcceptsTheMaskGrpcGatewayFillsIn(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		want    defender.IncidentUpdate
		wantErr bool
	}{
		{name: "JSON names", body: `{"status":"INCIDENT_STATUS_IN_PROGRESS","assignedTo":"a@contoso.com","tags":["x"]}`,
			want: defender.IncidentUpdate{Status: ptr(defender.StatusInProgress), AssignedTo: ptr("a@contoso.com"), Tags: &[]string{"x"}}},
		{name: "proto names", body: `{"assigned_to":"","classification":"CLASSIFICATION_FALSE_POSITIVE","determination":"DETERMINATION_CLEAN"}`,
			want: defender.IncidentUpdate{AssignedTo: ptr(""), Classification: ptr(defender.ClassificationFalsePositive),
				Determination: ptr(defender.DeterminationClean)}},
		{name: "with name and etag", body: `{"name":"` + incident1000 + `","etag":"W/\"x\"","tags":[]}`,
			want: defender.IncidentUpdate{Tags: &[]string{}}},
		{name: "an output-only field", body: `{"status":"INCIDENT_STATUS_RESOLVED","displayName":"x"}`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := &defenderv1.Incident{}
			if err := protojson.Unmarshal([]byte(tc.body), in); err != nil {
				t.Fatal(err)
			}
			m, err := runtime.FieldMaskFromRequestBody(strings.NewReader(tc.body), in)
			if err != nil {
				t.Fatal(err)
			}
			in.Name = incident1000 // from the URL path
			in.Etag = ""           // not a precondition here
			backend := newFakeBackend(1)
			svc, _ := newIncidentService(t, backend)
			_, err = svc.UpdateIncident(context.Background(), &defenderv1.UpdateIncidentRequest{Incident: in, UpdateMask: m})
			if tc.wantErr {
				wantFieldError(t, err, "update_mask")
				return
			}
			if err != nil {
				t.Fatalf("mask %v: %v", m.GetPaths(), err)
			}
			if diff := cmp.Diff([]defender.IncidentUpdate{tc.want}, backend.updates); diff != "" {
				t.Errorf("mask %v: backend update (-want +got):\n%s", m.GetPaths(), diff)
			}
		})
	}
}

func TestUpdateIncidentPreconditions(t *testing.T) {
	updated := baseTime // incident 1000's update time in the fake
	current := incidentEtag("1000", updated)
	cases := []struct {
		name       string
		etag       string
		expectTime *timestamppb.Timestamp
		wantCalls  []string
		mismatch   bool
	}{
		{name: "none: no read", wantCalls: []string{"UpdateIncident"}},
		{name: "matching etag", etag: current, wantCalls: []string{"GetIncident", "UpdateIncident"}},
		{name: "matching update time", expectTime: timestamppb.New(updated), wantCalls: []string{"GetIncident", "UpdateIncident"}},
		{name: "both matching", etag: current, expectTime: timestamppb.New(updated), wantCalls: []string{"GetIncident", "UpdateIncident"}},
		{name: "stale etag", etag: incidentEtag("1000", updated.Add(-time.Second)), wantCalls: []string{"GetIncident"}, mismatch: true},
		{name: "etag of another incident", etag: incidentEtag("1001", updated), wantCalls: []string{"GetIncident"}, mismatch: true},
		{name: "garbage etag", etag: "*", wantCalls: []string{"GetIncident"}, mismatch: true},
		{name: "stale update time", expectTime: timestamppb.New(updated.Add(-time.Nanosecond)), wantCalls: []string{"GetIncident"}, mismatch: true},
		{name: "etag matches, update time does not", etag: current, expectTime: timestamppb.New(updated.Add(time.Hour)),
			wantCalls: []string{"GetIncident"}, mismatch: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backend := newFakeBackend(1)
			svc, _ := newIncidentService(t, backend)
			got, err := svc.UpdateIncident(context.Background(), &defenderv1.UpdateIncidentRequest{
				Incident:         &defenderv1.Incident{Name: incident1000, Etag: tc.etag, AssignedTo: "a@contoso.com"},
				UpdateMask:       mask("assigned_to"),
				ExpectUpdateTime: tc.expectTime,
			})
			if diff := cmp.Diff(tc.wantCalls, backend.calls); diff != "" {
				t.Errorf("backend calls (-want +got):\n%s", diff)
			}
			if slices.Contains(backend.gets, true) {
				t.Error("the precondition read asked for alerts")
			}
			if tc.mismatch {
				wantCode(t, err, codes.FailedPrecondition, defender.ReasonEtagMismatch)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.GetEtag() == current || got.GetEtag() != incidentEtag("1000", got.GetUpdateTime().AsTime()) {
				t.Errorf("etag %q after the update: want the new version's", got.GetEtag())
			}
		})
	}
}

func TestUpdateIncidentReturnsTheUpdatedIncident(t *testing.T) {
	backend := newFakeBackend(1)
	svc, _ := newIncidentService(t, backend)
	got, err := svc.UpdateIncident(context.Background(), &defenderv1.UpdateIncidentRequest{
		Incident:   &defenderv1.Incident{Name: incident1000, Status: defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED},
		UpdateMask: mask("status"),
		Comment:    "done",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &defenderv1.Incident{
		Name:        "tenants/" + canonicalTenant + "/incidents/1000",
		Id:          "1000",
		DisplayName: "incident 0",
		Status:      defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED,
		Severity:    defenderv1.Severity_SEVERITY_HIGH,
		Comments:    []*defenderv1.Comment{{Text: "done"}},
		CreateTime:  timestamppb.New(baseTime),
		UpdateTime:  timestamppb.New(baseTime.Add(time.Second)),
		Etag:        incidentEtag("1000", baseTime.Add(time.Second)),
		Alerts:      []*defenderv1.Alert{{Name: "tenants/" + canonicalTenant + "/alerts/da0", Id: "da0", Title: "alert"}},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("incident (-want +got):\n%s", diff)
	}
}
