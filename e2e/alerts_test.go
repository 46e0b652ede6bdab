package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

const alertPrefix = "tenants/e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f42/alerts/"

// listAllAlerts pages through an alert listing with pageSize, failing on a
// duplicate or a short page that is not the last.
func listAllAlerts(t *testing.T, c client, req *defenderv1.ListAlertsRequest, pageSize int32) []*defenderv1.Alert {
	t.Helper()
	var all []*defenderv1.Alert
	seen := map[string]bool{}
	req = protoClone(req)
	req.PageSize = pageSize
	for page := 0; ; page++ {
		if page > 200 {
			t.Fatal("more than 200 pages: the listing does not end")
		}
		resp, err := c.ListAlerts(context.Background(), req)
		mustOK(t, err)
		for _, a := range resp.GetAlerts() {
			if seen[a.GetName()] {
				t.Fatalf("alert %s returned twice", a.GetName())
			}
			seen[a.GetName()] = true
			all = append(all, a)
		}
		if resp.GetNextPageToken() == "" {
			return all
		}
		if len(resp.GetAlerts()) != int(pageSize) {
			t.Fatalf("page %d is short (%d of %d) but not the last", page, len(resp.GetAlerts()), pageSize)
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func alertNames(as []*defenderv1.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.GetName()
	}
	return out
}

// TestAlertsOnGraph: ListAlerts filters and pages with its tokens, GetAlert
// reads one alert, UpdateAlert changes it and posts its comment once, and
// bad input is INVALID_ARGUMENT naming the field, on the real emulator over
// gRPC and REST.
func TestAlertsOnGraph(t *testing.T) {
	emu := startEmulator(t)
	g := startGateway(t, emu, sandboxConfig(t, emu, "graph"))
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			ctx := context.Background()
			t.Run("list with filters and paging", func(t *testing.T) {
				whole := listAllAlerts(t, c, &defenderv1.ListAlertsRequest{Parent: home}, 500)
				if len(whole) < 60 {
					t.Fatalf("%d alerts in the sample, want more than a page of 50", len(whole))
				}
				for _, a := range whole {
					if !strings.HasPrefix(a.GetName(), alertPrefix) || !strings.HasPrefix(a.GetIncident(), "tenants/e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f42/incidents/") {
						t.Fatalf("alert %q of incident %q: not under the canonical home tenant", a.GetName(), a.GetIncident())
					}
				}
				for _, size := range []int32{7, 50} {
					if got := alertNames(listAllAlerts(t, c, &defenderv1.ListAlertsRequest{Parent: home}, size)); strings.Join(got, " ") != strings.Join(alertNames(whole), " ") {
						t.Errorf("page size %d lists %d alerts, differently from one page of 500 (%d)", size, len(got), len(whole))
					}
				}
				sample := whole[len(whole)/2]
				since := timestamppb.New(time.Now().Add(-20 * 24 * time.Hour))
				filters := []struct {
					name  string
					req   *defenderv1.ListAlertsRequest
					match func(*defenderv1.Alert) bool
				}{
					{"status and severity", &defenderv1.ListAlertsRequest{Parent: home,
						Statuses:   []defenderv1.AlertStatus{defenderv1.AlertStatus_ALERT_STATUS_NEW, defenderv1.AlertStatus_ALERT_STATUS_IN_PROGRESS},
						Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_HIGH}},
						func(a *defenderv1.Alert) bool {
							return (a.GetStatus() == defenderv1.AlertStatus_ALERT_STATUS_NEW || a.GetStatus() == defenderv1.AlertStatus_ALERT_STATUS_IN_PROGRESS) &&
								a.GetSeverity() == defenderv1.Severity_SEVERITY_HIGH
						}},
					{"service source", &defenderv1.ListAlertsRequest{Parent: home, ServiceSources: []string{sample.GetServiceSource()}},
						func(a *defenderv1.Alert) bool { return a.GetServiceSource() == sample.GetServiceSource() }},
					{"detection source", &defenderv1.ListAlertsRequest{Parent: home, DetectionSources: []string{sample.GetDetectionSource()}},
						func(a *defenderv1.Alert) bool { return a.GetDetectionSource() == sample.GetDetectionSource() }},
					{"incident", &defenderv1.ListAlertsRequest{Parent: home, Incident: sample.GetIncident()},
						func(a *defenderv1.Alert) bool { return a.GetIncident() == sample.GetIncident() }},
					{"created in the last 20 days", &defenderv1.ListAlertsRequest{Parent: home, CreateTimeRange: &defenderv1.TimeRange{StartTime: since}},
						func(a *defenderv1.Alert) bool { return !a.GetCreateTime().AsTime().Before(since.AsTime()) }},
				}
				for _, f := range filters {
					t.Run(f.name, func(t *testing.T) {
						got := listAllAlerts(t, c, f.req, 9)
						if len(got) == 0 {
							t.Fatal("the filter matches nothing in the sample data; the case proves nothing")
						}
						want := 0
						for _, a := range whole {
							if f.match(a) {
								want++
							}
						}
						for _, a := range got {
							if !f.match(a) {
								t.Errorf("%s does not match the filter", a.GetName())
							}
						}
						if len(got) != want {
							t.Errorf("%d alerts match, want the %d of the whole listing that match", len(got), want)
						}
					})
				}
				first, err := c.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: home, PageSize: 5})
				mustOK(t, err)
				_, err = c.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: home, PageSize: 5, PageToken: first.GetNextPageToken(),
					Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_LOW}})
				st := wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "page_token")
				if f := fieldViolations(st); len(f) != 1 || f[0] != "page_token" {
					t.Errorf("field violations = %v, want [page_token]", f)
				}
			})

			t.Run("get, update with a comment posted once, not found", func(t *testing.T) {
				list, err := c.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: home, PageSize: 1,
					Statuses: []defenderv1.AlertStatus{defenderv1.AlertStatus_ALERT_STATUS_NEW}})
				mustOK(t, err)
				if len(list.GetAlerts()) != 1 {
					t.Fatal("no new alert in the sample")
				}
				name := list.GetAlerts()[0].GetName()
				got, err := c.GetAlert(ctx, &defenderv1.GetAlertRequest{Name: name})
				mustOK(t, err)
				if got.GetName() != name || got.GetTitle() == "" || len(got.GetEvidence()) == 0 || got.GetServiceSource() == "" {
					t.Errorf("GetAlert = %v, want the listed alert with its evidence", got)
				}
				comment := fmt.Sprintf("benign, checked by the SOC (%s %d)", c.name(), time.Now().UnixNano())
				updated, err := c.UpdateAlert(ctx, &defenderv1.UpdateAlertRequest{
					Alert: &defenderv1.Alert{Name: name, Status: defenderv1.AlertStatus_ALERT_STATUS_RESOLVED,
						Classification: defenderv1.Classification_CLASSIFICATION_FALSE_POSITIVE,
						Determination:  defenderv1.Determination_DETERMINATION_CLEAN, AssignedTo: "o'brien@contoso.com"},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status", "classification", "determination", "assigned_to"}},
					Comment:    comment,
				})
				mustOK(t, err)
				again, err := c.GetAlert(ctx, &defenderv1.GetAlertRequest{Name: name})
				mustOK(t, err)
				for what, a := range map[string]*defenderv1.Alert{"response": updated, "re-read": again} {
					if a.GetStatus() != defenderv1.AlertStatus_ALERT_STATUS_RESOLVED || a.GetResolveTime() == nil ||
						a.GetClassification() != defenderv1.Classification_CLASSIFICATION_FALSE_POSITIVE ||
						a.GetDetermination() != defenderv1.Determination_DETERMINATION_CLEAN || a.GetAssignedTo() != "o'brien@contoso.com" {
						t.Errorf("%s: update not applied: %v", what, a)
					}
					n := 0
					for _, cm := range a.GetComments() {
						if cm.GetText() == comment {
							n++
						}
					}
					if n != 1 {
						t.Errorf("%s: the comment appears %d times, want once", what, n)
					}
				}
				_, err = c.GetAlert(ctx, &defenderv1.GetAlertRequest{Name: alertPrefix + "da000000000000000000_-1"})
				wantStatus(t, err, codes.NotFound, "ALERT_NOT_FOUND")
			})

			t.Run("bad input names the field", func(t *testing.T) {
				cases := []struct {
					name  string
					call  func() error
					field string
				}{
					{"service source", func() error {
						_, err := c.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: home, ServiceSources: []string{"x' or 1 eq 1"}})
						return err
					}, "service_sources[0]"},
					{"incident of another tenant", func() error {
						_, err := c.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: home, Incident: "tenants/fabrikam.onmicrosoft.com/incidents/1"})
						return err
					}, "incident"},
					{"malformed name", func() error {
						_, err := c.GetAlert(ctx, &defenderv1.GetAlertRequest{Name: "tenants/default/alerts/-x"})
						return err
					}, "name"},
					{"determination without its classification", func() error {
						_, err := c.UpdateAlert(ctx, &defenderv1.UpdateAlertRequest{
							Alert: &defenderv1.Alert{Name: alertPrefix + "da1", Classification: defenderv1.Classification_CLASSIFICATION_FALSE_POSITIVE,
								Determination: defenderv1.Determination_DETERMINATION_MALWARE},
							UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"classification", "determination"}}})
						return err
					}, "alert.determination"},
					{"tags", func() error {
						_, err := c.UpdateAlert(ctx, &defenderv1.UpdateAlertRequest{Alert: &defenderv1.Alert{Name: alertPrefix + "da1"},
							UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"tags"}}})
						return err
					}, "update_mask"},
				}
				for _, tc := range cases {
					t.Run(tc.name, func(t *testing.T) {
						st := wantStatus(t, tc.call(), codes.InvalidArgument, "")
						if info := errorInfo(st); info == nil || info.GetDomain() != "defender.gateway" {
							t.Errorf("ErrorInfo = %v, want one of defender.gateway", info)
						}
						if f := fieldViolations(st); len(f) != 1 || f[0] != tc.field {
							t.Errorf("field violations = %v, want [%s]", f, tc.field)
						}
					})
				}
			})
		})
	}
}

// TestAlertsOnXDRAreUnsupported: the XDR backend has no alerts endpoint;
// every alert method is UNIMPLEMENTED with UNSUPPORTED_BY_BACKEND, and the
// alerts stay readable inside the incidents.
func TestAlertsOnXDRAreUnsupported(t *testing.T) {
	emu := startEmulator(t)
	g := startGateway(t, emu, sandboxConfig(t, emu, "xdr"))
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			ctx := context.Background()
			_, err := c.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: home})
			wantStatus(t, err, codes.Unimplemented, "UNSUPPORTED_BY_BACKEND", "xdr")
			_, err = c.GetAlert(ctx, &defenderv1.GetAlertRequest{Name: home + "/alerts/da1"})
			wantStatus(t, err, codes.Unimplemented, "UNSUPPORTED_BY_BACKEND")
			_, err = c.UpdateAlert(ctx, &defenderv1.UpdateAlertRequest{Alert: &defenderv1.Alert{Name: home + "/alerts/da1"}, Comment: "x"})
			wantStatus(t, err, codes.Unimplemented, "UNSUPPORTED_BY_BACKEND")
			list, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1,
				View: defenderv1.IncidentView_INCIDENT_VIEW_FULL})
			mustOK(t, err)
			a := list.GetIncidents()[0].GetAlerts()
			if len(a) == 0 || !strings.HasPrefix(a[0].GetName(), alertPrefix) || a[0].GetIncident() != list.GetIncidents()[0].GetName() {
				t.Errorf("the incident's alerts %v lack their names or incident link", a)
			}
		})
	}
}

// TestFaultAlertCommentIsNeverDuplicated: the alert comments call has the
// incident comment's once-only guarantee under the same upstream failures
// of the comment request (commentCases), over gRPC and REST.
func TestFaultAlertCommentIsNeverDuplicated(t *testing.T) {
	g := startFaultGateway(t, "graph")
	list, err := g.clients(t)[0].ListAlerts(context.Background(), &defenderv1.ListAlertsRequest{Parent: home, PageSize: 1})
	mustOK(t, err)
	if len(list.GetAlerts()) != 1 {
		t.Fatal("no alert in the sample")
	}
	alert := list.GetAlerts()[0]
	route := upstreamRoute{"graph", http.MethodPost, "/v1.0/security/alerts_v2/" + alert.GetId() + "/comments"}
	count := func(a *defenderv1.Alert, text string) int {
		n := 0
		for _, c := range a.GetComments() {
			if c.GetText() == text {
				n++
			}
		}
		return n
	}
	for _, c := range g.clients(t) {
		for _, tc := range commentCases {
			t.Run(c.name()+"/"+tc.name, func(t *testing.T) {
				text := uniqueComment(tc.name)
				f := route.fault(tc.fault)
				f.Times = 1
				remove := g.emu.InjectFault(f)
				defer remove()
				g.emu.ResetRequests()
				got, err := c.UpdateAlert(withDeadline(t, 10*time.Second), &defenderv1.UpdateAlertRequest{
					Alert: &defenderv1.Alert{Name: alert.GetName()}, Comment: text})
				if tc.code == codes.OK {
					mustOK(t, err)
					if n := count(got, text); n != 1 {
						t.Errorf("the answer shows the comment %d times, want once", n)
					}
				} else {
					wantStatus(t, err, tc.code, "")
				}
				read, err := c.GetAlert(context.Background(), &defenderv1.GetAlertRequest{Name: alert.GetName()})
				mustOK(t, err)
				if n := count(read, text); n != tc.posted {
					t.Errorf("the alert has the comment %d times, want %d", n, tc.posted)
				}
				if got := route.statuses(g.emu, tc.sent); len(got) != tc.sent {
					t.Errorf("comment requests upstream = %v, want %d", got, tc.sent)
				}
			})
		}
	}
}

// TestAlertsTakeTheAlertQuota: alert listings are scheduled in their own
// family, alert-read (50/min on graph): a burst beyond it is refused with
// QUOTA_EXHAUSTED before going upstream, the emulator enforcing the
// documented limits answers no 429, and GetQuota shows the family used.
func TestAlertsTakeTheAlertQuota(t *testing.T) {
	emu := startLimitedEmulator(t)
	g := startGateway(t, emu, appConfig(t, emu, "graph", identity.ClientID, identity.ClientSecret, "--quota-enabled=true"))
	conn := quotaConn(t, g)
	alerts := defenderv1.NewAlertServiceClient(conn)
	_, err := alerts.ListAlerts(context.Background(), &defenderv1.ListAlertsRequest{Parent: home, PageSize: 1})
	mustOK(t, err)
	const n = 30
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
			defer cancel()
			// Each its own page size, so that none coalesce.
			_, errs[i] = alerts.ListAlerts(ctx, &defenderv1.ListAlertsRequest{Parent: home, PageSize: int32(2 + i)})
		})
	}
	wg.Wait()
	ok := 1
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantQuotaExhausted(t, err, time.Minute)
	}
	if ok < 3 || ok > 7 {
		t.Errorf("%d of %d alert listings succeeded, want about the burst of 5", ok, n+1)
	}
	stat := emu.RouteStat("graph", identity.HomeTenantID, emulator.RouteAlertList)
	if stat.Throttled() != 0 || stat.Accepted != ok {
		t.Errorf("upstream alert listings: %d accepted, %d throttled; want exactly the %d that succeeded and no 429", stat.Accepted, stat.Throttled(), ok)
	}
	if s := emu.RouteStat("graph", identity.HomeTenantID, emulator.RouteIncidentList); s.Accepted != 0 {
		t.Errorf("%d incident listings upstream, want none", s.Accepted)
	}
	q, err := defenderv1.NewQuotaServiceClient(conn).GetQuota(context.Background(), &defenderv1.GetQuotaRequest{Name: home + "/quota"})
	mustOK(t, err)
	found := false
	for _, b := range q.GetBudgets() {
		if b.GetFamily() == defenderv1.QuotaFamily_QUOTA_FAMILY_ALERT_READ && b.GetWindow().AsDuration() == time.Minute {
			found = true
			if b.GetLimit() != 50 || b.GetRemaining() > 50-int32(ok) {
				t.Errorf("alert-read budget %v: want limit 50 with at least %d used", b, ok)
			}
		}
	}
	if !found {
		t.Errorf("GetQuota lists no alert-read budget: %v", q.GetBudgets())
	}
}
