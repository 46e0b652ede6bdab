package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// alertWatch is one open WatchAlerts stream, over gRPC or REST, read by a
// goroutine into msgs; its end (nil for OK) goes to end.
type alertWatch struct {
	msgs   chan *defenderv1.WatchAlertsResponse
	end    chan error
	cancel context.CancelFunc
	cursor string
}

func openAlertWatch(t testing.TB, g *gateway, transport string, req *defenderv1.WatchAlertsRequest) *alertWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &alertWatch{msgs: make(chan *defenderv1.WatchAlertsResponse, 10_000), end: make(chan error, 1), cancel: cancel}
	done := make(chan struct{})
	if transport == "rest" {
		q := url.Values{}
		for _, s := range req.GetStatuses() {
			q.Add("statuses", s.String())
		}
		if req.GetCursor() != "" {
			q.Set("cursor", req.GetCursor())
		}
		hr, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.httpAddr+"/v1/"+req.GetParent()+"/alerts:watch?"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		go func() {
			defer close(done)
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
			for sc.Scan() {
				var line struct {
					Result json.RawMessage `json:"result"`
					Error  json.RawMessage `json:"error"`
				}
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					w.end <- err
					return
				}
				if line.Error != nil {
					st := &spb.Status{}
					if err := protojson.Unmarshal(line.Error, st); err != nil {
						w.end <- err
						return
					}
					w.end <- status.FromProto(st).Err()
					return
				}
				m := &defenderv1.WatchAlertsResponse{}
				if err := protojson.Unmarshal(line.Result, m); err != nil {
					w.end <- err
					return
				}
				w.msgs <- m
			}
			w.end <- sc.Err()
		}()
		t.Cleanup(func() { cancel(); <-done })
		return w
	}
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := defenderv1.NewAlertServiceClient(conn).WatchAlerts(ctx, req)
	if err != nil {
		cancel()
		conn.Close()
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		for {
			m, err := stream.Recv()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				w.end <- err
				return
			}
			w.msgs <- m
		}
	}()
	t.Cleanup(func() { cancel(); <-done; conn.Close() })
	return w
}

// heartbeat waits for a heartbeat, skipping changes.
func (w *alertWatch) heartbeat(t testing.TB) *defenderv1.WatchHeartbeat {
	t.Helper()
	deadline := time.After(watchWait)
	for {
		select {
		case m := <-w.msgs:
			w.cursor = m.GetCursor()
			if hb := m.GetHeartbeat(); hb != nil {
				return hb
			}
		case err := <-w.end:
			t.Fatalf("the alert watch ended (%v) before a heartbeat", err)
		case <-deadline:
			t.Fatalf("no heartbeat within %s", watchWait)
		}
	}
}

// change waits for a change that pred accepts, skipping the others.
func (w *alertWatch) change(t testing.TB, what string, pred func(*defenderv1.AlertChange) bool) *defenderv1.AlertChange {
	t.Helper()
	deadline := time.After(watchWait)
	for {
		select {
		case m := <-w.msgs:
			if m.GetCursor() == "" {
				t.Fatalf("an alert watch message without a cursor: %v", m)
			}
			w.cursor = m.GetCursor()
			if c := m.GetChange(); c != nil && pred(c) {
				return c
			}
		case err := <-w.end:
			t.Fatalf("the alert watch ended (%v) before %s", err, what)
		case <-deadline:
			t.Fatalf("no %s within %s", what, watchWait)
		}
	}
}

func (w *alertWatch) ended(t testing.TB) error {
	t.Helper()
	deadline := time.After(watchWait)
	for {
		select {
		case m := <-w.msgs:
			w.cursor = m.GetCursor()
		case err := <-w.end:
			return err
		case <-deadline:
			t.Fatalf("the alert watch did not end within %s", watchWait)
		}
	}
}

func alertChangeOf(id string, also func(*defenderv1.Alert) bool) func(*defenderv1.AlertChange) bool {
	return func(c *defenderv1.AlertChange) bool {
		return c.GetType() == defenderv1.AlertChange_CHANGE_TYPE_UPDATED && c.GetAlert().GetId() == id && (also == nil || also(c.GetAlert()))
	}
}

// someAlertIDs lists the ids of some home-tenant alerts.
func someAlertIDs(t testing.TB, c client) []string {
	t.Helper()
	resp, err := c.ListAlerts(context.Background(), &defenderv1.ListAlertsRequest{Parent: home, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range resp.GetAlerts() {
		ids = append(ids, a.GetId())
	}
	if len(ids) < 40 {
		t.Fatalf("only %d alerts listed", len(ids))
	}
	return ids
}

// TestWatchAlerts: over gRPC and REST, an alert changed through
// UpdateAlert and one changed directly in the emulator both arrive; a watch
// resumed from the last cursor gets every change made while it was away; a
// WatchIncidents cursor is refused naming `cursor`; XDR is UNIMPLEMENTED.
func TestWatchAlerts(t *testing.T) {
	emu, g := startWatchGateway(t, "graph")
	tenant := identity.HomeTenantID
	for i, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			ctx := context.Background()
			ids := someAlertIDs(t, c)[10*i:]
			w := openAlertWatch(t, g, c.name(), &defenderv1.WatchAlertsRequest{Parent: home})
			if hb := w.heartbeat(t); hb.GetWatermark() == nil {
				t.Fatalf("heartbeat %v lacks its watermark", hb)
			}
			// Through the gateway.
			owner := "alert-watch-" + c.name() + "@contoso.com"
			if _, err := c.UpdateAlert(ctx, &defenderv1.UpdateAlertRequest{
				Alert:      &defenderv1.Alert{Name: home + "/alerts/" + ids[0], AssignedTo: owner},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assigned_to"}},
			}); err != nil {
				t.Fatal(err)
			}
			ch := w.change(t, "the update made through the gateway", alertChangeOf(ids[0], func(a *defenderv1.Alert) bool { return a.GetAssignedTo() == owner }))
			if !strings.HasPrefix(ch.GetAlert().GetName(), "tenants/"+tenant+"/alerts/") {
				t.Errorf("change names %q, want the canonical tenant", ch.GetAlert().GetName())
			}
			// Directly upstream.
			if _, err := emu.UpdateAlert(tenant, ids[1], store.AlertPatch{Comment: "seen in the portal", Author: "portal"}); err != nil {
				t.Fatal(err)
			}
			w.change(t, "the update made upstream", alertChangeOf(ids[1], nil))
			cursor := w.cursor
			w.cancel()

			// Away: two changes; the resumed watch gets both.
			for _, id := range ids[2:4] {
				if _, err := emu.UpdateAlert(tenant, id, store.AlertPatch{Comment: "while away", Author: "portal"}); err != nil {
					t.Fatal(err)
				}
			}
			resumed := openAlertWatch(t, g, c.name(), &defenderv1.WatchAlertsRequest{Parent: home, Cursor: cursor})
			got := map[string]bool{}
			resumed.change(t, "the changes made while away", func(ch *defenderv1.AlertChange) bool {
				got[ch.GetAlert().GetId()] = true
				return got[ids[2]] && got[ids[3]]
			})

			// A WatchIncidents cursor is not a WatchAlerts one.
			iw := openWatch(t, g, c, &defenderv1.WatchIncidentsRequest{Parent: home})
			iw.heartbeat(t)
			bad := openAlertWatch(t, g, c.name(), &defenderv1.WatchAlertsRequest{Parent: home, Cursor: iw.cursor})
			if st := wantStatus(t, bad.ended(t), codes.InvalidArgument, "INVALID_ARGUMENT"); !violates(st, "cursor") {
				t.Errorf("an incident cursor on WatchAlerts: %v does not name the field cursor", st.Details())
			}
		})
	}
}

// TestWatchAlertsFiftyWatchersOnePoller: fifty alert watchers of one
// tenant share one poller: the upstream sees one poller's alert listings.
func TestWatchAlertsFiftyWatchersOnePoller(t *testing.T) {
	emu, g := startWatchGateway(t, "graph", "--watch-poll-interval", "200ms")
	listings := func() int {
		return emu.RouteStat(emulator.APIGraph, identity.HomeTenantID, emulator.RouteAlertList).Accepted
	}
	rate := func() float64 {
		emu.ResetStats()
		start := time.Now()
		time.Sleep(2 * time.Second)
		return float64(listings()) / time.Since(start).Seconds()
	}
	first := openAlertWatch(t, g, "grpc", &defenderv1.WatchAlertsRequest{Parent: home})
	first.heartbeat(t)
	one := rate()
	watchers := []*alertWatch{first}
	for range 49 {
		w := openAlertWatch(t, g, "grpc", &defenderv1.WatchAlertsRequest{Parent: home})
		w.heartbeat(t)
		watchers = append(watchers, w)
	}
	fifty := rate()
	t.Logf("alert listings per second: %.1f with one watcher, %.1f with fifty", one, fifty)
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
}

// TestWatchAlertsOnXDR: the XDR backend has no alerts endpoint.
func TestWatchAlertsOnXDR(t *testing.T) {
	_, g := startWatchGateway(t, "xdr")
	w := openAlertWatch(t, g, "grpc", &defenderv1.WatchAlertsRequest{Parent: home})
	wantStatus(t, w.ended(t), codes.Unimplemented, "UNSUPPORTED_BY_BACKEND")
}
