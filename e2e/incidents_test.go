package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/google/go-cmp/cmp"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

const home = "tenants/default"

// listAll pages through a listing with pageSize and returns every incident,
// failing on a duplicate.
func listAll(t *testing.T, c client, req *defenderv1.ListIncidentsRequest, pageSize int32) []*defenderv1.Incident {
	t.Helper()
	return listAllIn(context.Background(), t, c, req, pageSize)
}

// listAllIn is listAll with the call context (and its headers) of ctx.
func listAllIn(ctx context.Context, t *testing.T, c client, req *defenderv1.ListIncidentsRequest, pageSize int32) []*defenderv1.Incident {
	t.Helper()
	var all []*defenderv1.Incident
	seen := map[string]bool{}
	req = cloneList(req)
	req.PageSize = pageSize
	for page := 0; ; page++ {
		if page > 200 {
			t.Fatal("more than 200 pages: the listing does not end")
		}
		resp, err := c.ListIncidents(ctx, req)
		mustOK(t, err)
		if len(resp.GetIncidents()) > int(pageSize) {
			t.Fatalf("page %d has %d incidents, more than page_size %d", page, len(resp.GetIncidents()), pageSize)
		}
		for _, in := range resp.GetIncidents() {
			if seen[in.GetName()] {
				t.Fatalf("incident %s returned twice", in.GetName())
			}
			seen[in.GetName()] = true
			all = append(all, in)
		}
		if resp.GetNextPageToken() == "" {
			return all
		}
		if len(resp.GetIncidents()) != int(pageSize) {
			t.Fatalf("page %d is short (%d of %d) but not the last", page, len(resp.GetIncidents()), pageSize)
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func cloneList(r *defenderv1.ListIncidentsRequest) *defenderv1.ListIncidentsRequest {
	return protoClone(r)
}

func names(ins []*defenderv1.Incident) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.GetName()
	}
	return out
}

func TestListIncidentsPagesThroughEveryPageWithFilters(t *testing.T) {
	since := timestamppb.New(time.Now().Add(-20 * 24 * time.Hour))
	filters := []struct {
		name  string
		req   *defenderv1.ListIncidentsRequest
		match func(*defenderv1.Incident) bool
	}{
		{"no filter", &defenderv1.ListIncidentsRequest{Parent: home},
			func(*defenderv1.Incident) bool { return true }},
		{"statuses and severities", &defenderv1.ListIncidentsRequest{Parent: home,
			Statuses:   []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE, defenderv1.IncidentStatus_INCIDENT_STATUS_IN_PROGRESS},
			Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_HIGH, defenderv1.Severity_SEVERITY_MEDIUM}},
			func(in *defenderv1.Incident) bool {
				return (in.GetStatus() == defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE || in.GetStatus() == defenderv1.IncidentStatus_INCIDENT_STATUS_IN_PROGRESS) &&
					(in.GetSeverity() == defenderv1.Severity_SEVERITY_HIGH || in.GetSeverity() == defenderv1.Severity_SEVERITY_MEDIUM)
			}},
		{"assigned to an owner with a quote", &defenderv1.ListIncidentsRequest{Parent: home, AssignedTo: "o'brien@contoso.com"},
			func(in *defenderv1.Incident) bool { return in.GetAssignedTo() == "o'brien@contoso.com" }},
		{"created in the last 20 days", &defenderv1.ListIncidentsRequest{Parent: home, CreateTimeRange: &defenderv1.TimeRange{StartTime: since}},
			func(in *defenderv1.Incident) bool { return !in.GetCreateTime().AsTime().Before(since.AsTime()) }},
		{"updated in a closed range", &defenderv1.ListIncidentsRequest{Parent: home, UpdateTimeRange: &defenderv1.TimeRange{
			StartTime: timestamppb.New(time.Now().Add(-40 * 24 * time.Hour)), EndTime: timestamppb.New(time.Now().Add(-10 * 24 * time.Hour))}},
			func(in *defenderv1.Incident) bool {
				u := in.GetUpdateTime().AsTime()
				return !u.Before(time.Now().Add(-40*24*time.Hour)) && u.Before(time.Now().Add(-10*24*time.Hour))
			}},
	}
	forEach(t, func(t *testing.T, g *gateway, c client) {
		for _, f := range filters {
			t.Run(f.name, func(t *testing.T) {
				whole := listAll(t, c, f.req, 500)
				if len(whole) == 0 {
					t.Fatal("the filter matches nothing in the sample data; the case proves nothing")
				}
				for _, in := range whole {
					if !f.match(in) {
						t.Errorf("%s does not match the filter: %v", in.GetName(), in)
					}
					if !strings.HasPrefix(in.GetName(), "tenants/e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f42/incidents/") {
						t.Errorf("name %q is not under the canonical home tenant", in.GetName())
					}
					if len(in.GetAlerts()) != 0 {
						t.Errorf("%s: the default list view must not carry alerts", in.GetName())
					}
				}
				for _, size := range []int32{7, 60} {
					paged := listAll(t, c, f.req, size)
					if diff := cmp.Diff(names(whole), names(paged)); diff != "" {
						t.Errorf("paging by %d differs from one page (-whole +paged):\n%s", size, diff)
					}
				}
				for i := 1; i < len(whole); i++ {
					if whole[i].GetCreateTime().AsTime().After(whole[i-1].GetCreateTime().AsTime()) {
						t.Fatalf("not newest first at %d: %s after %s", i, whole[i].GetName(), whole[i-1].GetName())
					}
				}
			})
		}
	})
}

func TestBackendsServeTheSameContract(t *testing.T) {
	emu := startEmulator(t)
	req := &defenderv1.ListIncidentsRequest{Parent: home, Statuses: []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED}}
	var got [][]string
	var first []*defenderv1.Incident
	for _, backend := range backends {
		g := startGateway(t, emu, sandboxConfig(t, emu, backend))
		c := g.clients(t)[0]
		all := listAll(t, c, req, 100)
		got = append(got, names(all))
		in, err := c.GetIncident(context.Background(), &defenderv1.GetIncidentRequest{Name: all[0].GetName()})
		mustOK(t, err)
		first = append(first, in)
	}
	if diff := cmp.Diff(got[0], got[1]); diff != "" {
		t.Errorf("graph and xdr list different incidents (-graph +xdr):\n%s", diff)
	}
	// The neutral fields both backends carry agree on the same incident.
	ignoreBackendOnly := protocmp.IgnoreFields(&defenderv1.Incident{},
		"description", "web_url", "tenant_id", "detection_source", "priority_score", "last_modified_by",
		"system_tags", "status_raw", "severity_raw", "classification_raw", "determination_raw", "alerts", "comments", "etag")
	if diff := cmp.Diff(first[0], first[1], protocmp.Transform(), ignoreBackendOnly); diff != "" {
		t.Errorf("the same incident differs between backends (-graph +xdr):\n%s", diff)
	}
}

func TestGetIncidentFullView(t *testing.T) {
	forEach(t, func(t *testing.T, g *gateway, c client) {
		list, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1})
		mustOK(t, err)
		name := list.GetIncidents()[0].GetName()
		in, err := c.GetIncident(context.Background(), &defenderv1.GetIncidentRequest{Name: name})
		mustOK(t, err)
		if in.GetName() != name || in.GetId() == "" || in.GetDisplayName() == "" || in.GetEtag() == "" {
			t.Errorf("incident lacks identity fields: %v", in)
		}
		if in.GetCreateTime() == nil || in.GetUpdateTime() == nil {
			t.Errorf("incident lacks times: %v", in)
		}
		if len(in.GetAlerts()) == 0 {
			t.Fatal("the full view must carry alerts")
		}
		evidence := 0
		for _, a := range in.GetAlerts() {
			evidence += len(a.GetEvidence())
			if a.GetId() == "" || a.GetTitle() == "" {
				t.Errorf("alert lacks id or title: %v", a)
			}
		}
		if evidence == 0 {
			t.Error("no alert carries evidence")
		}
		basic, err := c.GetIncident(context.Background(), &defenderv1.GetIncidentRequest{Name: name, View: defenderv1.IncidentView_INCIDENT_VIEW_BASIC})
		mustOK(t, err)
		if len(basic.GetAlerts()) != 0 {
			t.Error("the basic view must not carry alerts")
		}
	})
}

func TestUpdateIncidentWithCommentAndPrecondition(t *testing.T) {
	forEach(t, func(t *testing.T, g *gateway, c client) {
		ctx := context.Background()
		list, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1,
			Statuses: []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE}})
		mustOK(t, err)
		before, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: list.GetIncidents()[0].GetName()})
		mustOK(t, err)
		comment := fmt.Sprintf("contained by IR (%s)", c.name())

		updated, err := c.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{
			Incident: &defenderv1.Incident{
				Name:           before.GetName(),
				Etag:           before.GetEtag(),
				Status:         defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED,
				Classification: defenderv1.Classification_CLASSIFICATION_TRUE_POSITIVE,
				Determination:  defenderv1.Determination_DETERMINATION_MALWARE,
				AssignedTo:     "o'brien@contoso.com",
				Tags:           []string{"e2e", "ransomware"},
			},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status", "classification", "determination", "assigned_to", "tags"}},
			Comment:    comment,
		})
		mustOK(t, err)
		check := func(what string, in *defenderv1.Incident) {
			t.Helper()
			if in.GetStatus() != defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED ||
				in.GetClassification() != defenderv1.Classification_CLASSIFICATION_TRUE_POSITIVE ||
				in.GetDetermination() != defenderv1.Determination_DETERMINATION_MALWARE ||
				in.GetAssignedTo() != "o'brien@contoso.com" || !slices.Equal(in.GetTags(), []string{"e2e", "ransomware"}) {
				t.Errorf("%s: update not applied: %v", what, in)
			}
			if n := len(in.GetComments()); n == 0 || in.GetComments()[n-1].GetText() != comment {
				t.Errorf("%s: the comment was not appended: %v", what, in.GetComments())
			}
			if in.GetEtag() == before.GetEtag() {
				t.Errorf("%s: etag did not change with the update", what)
			}
		}
		check("response", updated)
		again, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: before.GetName()})
		mustOK(t, err)
		check("re-read", again)

		// The incident changed: the old etag and update time no longer hold.
		_, err = c.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{
			Incident:   &defenderv1.Incident{Name: before.GetName(), Etag: before.GetEtag(), AssignedTo: "someone@contoso.com"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assigned_to"}},
		})
		wantStatus(t, err, codes.FailedPrecondition, "ETAG_MISMATCH")
		_, err = c.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{
			Incident:         &defenderv1.Incident{Name: before.GetName(), AssignedTo: "someone@contoso.com"},
			UpdateMask:       &fieldmaskpb.FieldMask{Paths: []string{"assigned_to"}},
			ExpectUpdateTime: before.GetUpdateTime(),
		})
		wantStatus(t, err, codes.FailedPrecondition, "ETAG_MISMATCH")

		// A comment alone, with the current etag, is an update.
		onlyComment, err := c.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{
			Incident: &defenderv1.Incident{Name: before.GetName(), Etag: again.GetEtag()},
			Comment:  "second note",
		})
		mustOK(t, err)
		if n := len(onlyComment.GetComments()); n < 2 || onlyComment.GetComments()[n-1].GetText() != "second note" {
			t.Errorf("comment-only update not applied: %v", onlyComment.GetComments())
		}
		if onlyComment.GetAssignedTo() != "o'brien@contoso.com" {
			t.Errorf("comment-only update changed the owner to %q", onlyComment.GetAssignedTo())
		}
	})
}
