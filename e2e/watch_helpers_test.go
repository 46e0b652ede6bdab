package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// watchFlags make a watch quick to test: rounds every 100ms, heartbeats
// every 300ms, and a re-read window of 2s.
var watchFlags = []string{
	"--watch-poll-interval", "100ms",
	"--watch-heartbeat-interval", "300ms",
	"--watch-overlap", "1s",
	"--watch-visibility-delay", "1s",
}

// watchWait bounds the wait for one expected message.
const watchWait = 10 * time.Second

// watchStream is one open WatchIncidents stream, over gRPC or REST, read
// by a goroutine into msgs; its end (nil for OK) goes to end.
type watchStream struct {
	msgs   chan *defenderv1.WatchIncidentsResponse
	end    chan error
	cancel context.CancelFunc
	// cursor is the cursor of the last message taken.
	cursor string
}

func newWatchStream(cancel context.CancelFunc) *watchStream {
	return &watchStream{msgs: make(chan *defenderv1.WatchIncidentsResponse, 10_000), end: make(chan error, 1), cancel: cancel}
}

// watchGRPC opens a watch on addr over gRPC.
func watchGRPC(t testing.TB, addr string, req *defenderv1.WatchIncidentsRequest) *watchStream {
	t.Helper()
	return watchGRPCAs(t, context.Background(), addr, req)
}

// watchGRPCAs is watchGRPC with the metadata (caller credentials) of md.
func watchGRPCAs(t testing.TB, md context.Context, addr string, req *defenderv1.WatchIncidentsRequest) *watchStream {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(md)
	w := newWatchStream(cancel)
	stream, err := defenderv1.NewIncidentServiceClient(conn).WatchIncidents(ctx, req)
	if err != nil {
		cancel()
		conn.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
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

// watchREST opens a watch on httpAddr over REST (NDJSON).
func watchREST(t testing.TB, httpAddr string, req *defenderv1.WatchIncidentsRequest) *watchStream {
	t.Helper()
	q := url.Values{}
	for _, s := range req.GetStatuses() {
		q.Add("statuses", s.String())
	}
	for _, s := range req.GetSeverities() {
		q.Add("severities", s.String())
	}
	if req.GetView() != 0 {
		q.Set("view", req.GetView().String())
	}
	if req.GetCursor() != "" {
		q.Set("cursor", req.GetCursor())
	}
	ctx, cancel := context.WithCancel(context.Background())
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/v1/"+req.GetParent()+"/incidents:watch?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	w := newWatchStream(cancel)
	done := make(chan struct{})
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
			m := &defenderv1.WatchIncidentsResponse{}
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

// next returns the next message, failing t if the stream ends first or
// nothing comes within watchWait.
func (w *watchStream) next(t testing.TB) *defenderv1.WatchIncidentsResponse {
	t.Helper()
	select {
	case m := <-w.msgs:
		if m.GetCursor() == "" {
			t.Fatalf("a watch message without a cursor: %v", m)
		}
		w.cursor = m.GetCursor()
		return m
	case err := <-w.end:
		t.Fatalf("the watch ended (%v) while a message was expected", err)
	case <-time.After(watchWait):
		t.Fatalf("no watch message within %s", watchWait)
	}
	return nil
}

// heartbeat waits for the first heartbeat, skipping changes.
func (w *watchStream) heartbeat(t testing.TB) *defenderv1.WatchHeartbeat {
	t.Helper()
	for {
		if hb := w.next(t).GetHeartbeat(); hb != nil {
			return hb
		}
	}
}

// change waits for the first change that pred accepts, skipping the others
// and heartbeats.
func (w *watchStream) change(t testing.TB, what string, pred func(*defenderv1.IncidentChange) bool) *defenderv1.IncidentChange {
	t.Helper()
	deadline := time.After(watchWait)
	for {
		select {
		case m := <-w.msgs:
			w.cursor = m.GetCursor()
			if c := m.GetChange(); c != nil && pred(c) {
				return c
			}
		case err := <-w.end:
			t.Fatalf("the watch ended (%v) before %s", err, what)
		case <-deadline:
			t.Fatalf("no %s within %s", what, watchWait)
		}
	}
}

// ended waits for the end of the stream and returns it (nil for OK).
func (w *watchStream) ended(t testing.TB) error {
	t.Helper()
	deadline := time.After(watchWait)
	for {
		select {
		case m := <-w.msgs:
			w.cursor = m.GetCursor()
		case err := <-w.end:
			return err
		case <-deadline:
			t.Fatalf("the watch did not end within %s", watchWait)
		}
	}
}

// changeOf accepts a change of kind to the incident with id.
func changeOf(kind defenderv1.IncidentChange_ChangeType, id string, also ...func(*defenderv1.Incident) bool) func(*defenderv1.IncidentChange) bool {
	return func(c *defenderv1.IncidentChange) bool {
		if c.GetType() != kind || c.GetIncident().GetId() != id {
			return false
		}
		for _, f := range also {
			if !f(c.GetIncident()) {
				return false
			}
		}
		return true
	}
}
