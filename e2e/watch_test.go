package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// openWatch opens a watch over the transport of c.
func openWatch(t testing.TB, g *gateway, c client, req *defenderv1.WatchIncidentsRequest) *watchStream {
	t.Helper()
	if c.name() == "rest" {
		return watchREST(t, g.httpAddr, req)
	}
	return watchGRPC(t, g.grpcAddr, req)
}

func startWatchGateway(t *testing.T, backend string, extra ...string) (*emulator.Emulator, *gateway) {
	t.Helper()
	emu := startEmulator(t)
	cfg := appConfig(t, emu, backend, identity.ClientID, identity.ClientSecret, append(append([]string{}, watchFlags...), extra...)...)
	return emu, startGateway(t, emu, cfg)
}

func ptr[T any](v T) *T { return &v }

// scrape returns the text of a Prometheus endpoint.
func scrape(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// incidentIDs lists the ids of the home tenant's newest 200 incidents
// that are not redirected (the sample's ids are not contiguous, and about
// one in 25 is merged into another: a change to it is a redirect, and it
// cannot be merged again). Which ones are newest varies a little from run
// to run: the sample's times are relative to the emulator's start.
func incidentIDs(t testing.TB, g *gateway) []int64 {
	t.Helper()
	conn := quotaConn(t, g)
	resp, err := defenderv1.NewIncidentServiceClient(conn).ListIncidents(context.Background(),
		&defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, in := range resp.GetIncidents() {
		if in.GetStatus() == defenderv1.IncidentStatus_INCIDENT_STATUS_REDIRECTED {
			continue
		}
		n, err := strconv.ParseInt(in.GetId(), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n)
	}
	if len(ids) < 100 {
		t.Fatalf("only %d incidents listed", len(ids))
	}
	return ids
}

// TestWatchDeliversChanges: on both backends and transports, a watch gets
// a heartbeat with a cursor at once, then every kind of change: an update
// made through the gateway, one made directly upstream (as the portal
// would), a new incident, and a merge carrying its target. A watch with a
// status filter gets only what matches. The drain ends the watch with
// UNAVAILABLE SHUTTING_DOWN.
func TestWatchDeliversChanges(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu, g := startWatchGateway(t, backend)
			ids := incidentIDs(t, g)
			for i, c := range g.clients(t) {
				t.Run(c.name(), func(t *testing.T) {
					tenant := identity.HomeTenantID
					pick := ids[10*i:]
					all := openWatch(t, g, c, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default"})
					resolved := openWatch(t, g, c, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default",
						Statuses: []defenderv1.IncidentStatus{defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED}})
					if hb := all.heartbeat(t); hb.GetWatermark() == nil || hb.GetTime() == nil {
						t.Fatalf("first heartbeat %v lacks its times", hb)
					}
					resolved.heartbeat(t)

					// Through the gateway: a status change and a comment.
					ctx := context.Background()
					id := strconv.FormatInt(pick[0], 10)
					comment := "watched " + c.name()
					if _, err := c.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{
						Incident:   &defenderv1.Incident{Name: "tenants/default/incidents/" + id, Status: defenderv1.IncidentStatus_INCIDENT_STATUS_IN_PROGRESS},
						UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status"}}, Comment: comment,
					}); err != nil {
						t.Fatal(err)
					}
					ch := all.change(t, "the update made through the gateway", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_UPDATED, id,
						func(in *defenderv1.Incident) bool {
							return in.GetStatus() == defenderv1.IncidentStatus_INCIDENT_STATUS_IN_PROGRESS
						}))
					if !strings.HasPrefix(ch.GetIncident().GetName(), "tenants/"+tenant+"/incidents/") {
						t.Errorf("change names %q, want the canonical tenant", ch.GetIncident().GetName())
					}

					// Directly upstream: a reassignment, then a resolution.
					owner := "watch-" + c.name() + "@contoso.com"
					if _, err := emu.UpdateIncident(tenant, pick[2], store.Patch{AssignedTo: &owner, Author: "portal"}); err != nil {
						t.Fatal(err)
					}
					all.change(t, "the reassignment made upstream", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_UPDATED, strconv.FormatInt(pick[2], 10),
						func(in *defenderv1.Incident) bool { return in.GetAssignedTo() == owner }))
					if _, err := emu.UpdateIncident(tenant, pick[2], store.Patch{Status: ptr(store.StatusResolved), Author: "portal"}); err != nil {
						t.Fatal(err)
					}
					resolvedID := strconv.FormatInt(pick[2], 10)
					resolved.change(t, "the resolution, on the filtered watch", func(c *defenderv1.IncidentChange) bool {
						if st := c.GetIncident().GetStatus(); st != defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED {
							t.Errorf("the watch of resolved incidents got %s with status %s", c.GetIncident().GetName(), st)
						}
						return c.GetIncident().GetId() == resolvedID
					})

					// A new incident, then a merge into it.
					created, err := emu.CreateIncident(tenant, store.NewIncident{Title: "Watched " + c.name(), Severity: store.SeverityHigh})
					if err != nil {
						t.Fatal(err)
					}
					newID := strconv.FormatInt(created.ID, 10)
					all.change(t, "the new incident", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_CREATED, newID))
					if _, err := emu.RedirectIncident(tenant, pick[4], created.ID); err != nil {
						t.Fatal(err)
					}
					merged := all.change(t, "the merge", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_REDIRECTED, strconv.FormatInt(pick[4], 10)))
					if want := "tenants/" + tenant + "/incidents/" + newID; merged.GetTarget().GetName() != want || merged.GetIncident().GetRedirectIncident() != want {
						t.Errorf("merge target %q, redirect_incident %q; want %s for both", merged.GetTarget().GetName(), merged.GetIncident().GetRedirectIncident(), want)
					}
					if merged.GetTarget().GetDisplayName() == "" {
						t.Errorf("the merge's target %v was not read", merged.GetTarget())
					}
				})
			}
			// The watches opened above are still open: a drain ends them.
			w := watchGRPC(t, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default"})
			w.heartbeat(t)
			g.stopAndWait(t)
			wantStatus(t, w.ended(t), codes.Unavailable, "SHUTTING_DOWN")
		})
	}
}

// TestWatchResumesFromACursor: a client that reconnects with the cursor of
// the last message it got receives every change made while it was away
// (through the gateway and upstream), over gRPC and REST; an altered
// cursor, or one from a watch with other filters, is INVALID_ARGUMENT
// naming the field.
func TestWatchResumesFromACursor(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu, g := startWatchGateway(t, backend)
			tenant := identity.HomeTenantID
			ids := incidentIDs(t, g)
			for i, c := range g.clients(t) {
				t.Run(c.name(), func(t *testing.T) {
					pick := ids[50+10*i:]
					w := openWatch(t, g, c, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default"})
					w.heartbeat(t)
					if _, err := emu.UpdateIncident(tenant, pick[0], store.Patch{Comment: "seen live", Author: "portal"}); err != nil {
						t.Fatal(err)
					}
					w.change(t, "the live change", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_UPDATED, strconv.FormatInt(pick[0], 10)))
					cursor := w.cursor
					w.cancel()

					// Away: three changes, two upstream and one through the gateway.
					for _, id := range []int64{pick[1], pick[2]} {
						if _, err := emu.UpdateIncident(tenant, id, store.Patch{Comment: "while away", Author: "portal"}); err != nil {
							t.Fatal(err)
						}
					}
					if _, err := c.UpdateIncident(context.Background(), &defenderv1.UpdateIncidentRequest{
						Incident: &defenderv1.Incident{Name: fmt.Sprintf("tenants/default/incidents/%d", pick[3])}, Comment: "while away",
					}); err != nil {
						t.Fatal(err)
					}
					resumed := openWatch(t, g, c, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: cursor})
					missing := map[string]bool{}
					for _, id := range []int64{pick[1], pick[2], pick[3]} {
						missing[strconv.FormatInt(id, 10)] = true
					}
					for len(missing) > 0 {
						ch := resumed.change(t, fmt.Sprintf("the changes made while away (%d missing)", len(missing)), func(*defenderv1.IncidentChange) bool { return true })
						delete(missing, ch.GetIncident().GetId())
					}

					// Cursors are tamper-proof and bound to their watch.
					for name, req := range map[string]*defenderv1.WatchIncidentsRequest{
						"altered": {Parent: "tenants/default", Cursor: alter(cursor)},
						"another filter": {Parent: "tenants/default", Cursor: cursor,
							Severities: []defenderv1.Severity{defenderv1.Severity_SEVERITY_HIGH}},
						"another view": {Parent: "tenants/default", Cursor: cursor, View: defenderv1.IncidentView_INCIDENT_VIEW_FULL},
					} {
						st := wantStatus(t, openWatch(t, g, c, req).ended(t), codes.InvalidArgument, "INVALID_ARGUMENT")
						if !violates(st, "cursor") {
							t.Errorf("%s cursor: %v does not name the field cursor", name, st.Details())
						}
					}
				})
			}
		})
	}
}

// alter flips one character in the middle of a token.
func alter(token string) string {
	b := []byte(token)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// violates reports whether st has a BadRequest naming field.
func violates(st *status.Status, field string) bool {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}

// TestWatchFiftyWatchersCostOnePoller: fifty watchers of one tenant share
// one poller: the upstream sees as many incident listings per second as
// with one watcher (not fifty times as many), and every watcher gets a
// change.
func TestWatchFiftyWatchersCostOnePoller(t *testing.T) {
	emu, g := startWatchGateway(t, "graph", "--watch-poll-interval", "200ms")
	listings := func() int {
		return emu.RouteStat(emulator.APIGraph, identity.HomeTenantID, emulator.RouteIncidentList).Accepted
	}
	rate := func() float64 {
		emu.ResetStats()
		start := time.Now()
		time.Sleep(2 * time.Second)
		return float64(listings()) / time.Since(start).Seconds()
	}
	first := watchGRPC(t, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default"})
	first.heartbeat(t)
	one := rate()
	watchers := []*watchStream{first}
	for range 49 {
		w := watchGRPC(t, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default"})
		w.heartbeat(t)
		watchers = append(watchers, w)
	}
	fifty := rate()
	t.Logf("incident listings per second: %.1f with one watcher, %.1f with fifty", one, fifty)
	metrics := scrape(t, "http://"+g.httpAddr+"/metrics")
	for _, want := range []string{
		`defender_gateway_watchers{tenant="` + identity.HomeTenantID + `"} 50`,
		`defender_gateway_watch_pollers{tenant="` + identity.HomeTenantID + `"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if one < 1 || fifty > one*1.5+1 {
		t.Errorf("fifty watchers cost %.1f listings/s against %.1f for one: want one poller's worth", fifty, one)
	}
	if _, err := emu.UpdateIncident(identity.HomeTenantID, 1001, store.Patch{Comment: "for everyone", Author: "portal"}); err != nil {
		t.Fatal(err)
	}
	for _, w := range watchers {
		w.change(t, "the change, on every watcher", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_UPDATED, "1001"))
	}
}

// TestWatchSurvivesLateVisibility: an upstream that lists a change only
// 1.5s after it was made. With a visibility delay longer than that the
// change arrives; with no delay and no overlap it is lost, which is what
// the delay is for.
func TestWatchSurvivesLateVisibility(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flags   []string
		arrives bool
	}{
		{"delay 3s", []string{"--watch-visibility-delay", "3s", "--watch-overlap", "0s"}, true},
		{"no delay, no overlap", []string{"--watch-visibility-delay", "0s", "--watch-overlap", "0s"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, g := startWatchGateway(t, "graph", tc.flags...)
			emu.SetListingLag(1500 * time.Millisecond)
			w := watchGRPC(t, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default"})
			w.heartbeat(t)
			time.Sleep(300 * time.Millisecond) // a few rounds, so the watermark moved
			if _, err := emu.UpdateIncident(identity.HomeTenantID, 1004, store.Patch{Comment: "late", Author: "portal"}); err != nil {
				t.Fatal(err)
			}
			if tc.arrives {
				w.change(t, "the late-listed change", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_UPDATED, "1004"))
				return
			}
			deadline := time.After(4 * time.Second)
			for {
				select {
				case m := <-w.msgs:
					if m.GetChange().GetIncident().GetId() == "1004" {
						t.Fatal("the late-listed change arrived without a visibility delay: the emulator's lag is not in force")
					}
				case <-deadline:
					return
				}
			}
		})
	}
}

// TestWatchFallsBackWhenExpandingAlertsFails: with the full view, when
// Graph's listing with $expand=alerts keeps failing (the 500s large tenants
// report), the watch still delivers each change with its alerts, read
// per incident.
func TestWatchFallsBackWhenExpandingAlertsFails(t *testing.T) {
	emu, g := startWatchGateway(t, "graph")
	emu.InjectFault(emulator.ExpandAlertsFailure(identity.HomeTenantID, 500))
	w := watchGRPC(t, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default", View: defenderv1.IncidentView_INCIDENT_VIEW_FULL})
	w.heartbeat(t)
	if _, err := emu.UpdateIncident(identity.HomeTenantID, 1005, store.Patch{Comment: "with alerts", Author: "portal"}); err != nil {
		t.Fatal(err)
	}
	ch := w.change(t, "the change with its alerts", changeOf(defenderv1.IncidentChange_CHANGE_TYPE_UPDATED, "1005"))
	if len(ch.GetIncident().GetAlerts()) == 0 {
		t.Errorf("the change came without its alerts")
	}
}

// TestWatchEndsAfterItsMaxDuration: a watch ends with OK after
// DEFENDER_WATCH_MAX_DURATION, its last message a heartbeat whose cursor
// resumes it.
func TestWatchEndsAfterItsMaxDuration(t *testing.T) {
	_, g := startWatchGateway(t, "xdr", "--watch-max-duration", "1s")
	w := watchGRPC(t, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default"})
	start := time.Now()
	if err := w.ended(t); err != nil {
		t.Fatalf("the watch ended with %v, want OK", err)
	}
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Errorf("the watch ended after %s, want about 1s", d)
	}
	again := watchGRPC(t, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: "tenants/default", Cursor: w.cursor})
	again.heartbeat(t)
}
