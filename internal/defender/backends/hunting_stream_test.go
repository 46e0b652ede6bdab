package backends

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
	"github.com/defender-gateway/gateway/internal/defender/graph"
)

// TestRunHuntingQueryBound: a result past MaxResultBytes is
// RESULT_TOO_LARGE, naming StreamQuery; one within it is returned whole.
func TestRunHuntingQueryBound(t *testing.T) {
	rows := strings.TrimSuffix(strings.Repeat(`{"X":"0123456789"},`, 1000), ",")
	srv, _ := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"schema":[{"name":"X","type":"String"}],"results":[`+rows+`]}`)
	})
	g := newTestGraph(t, srv.URL+"/v1.0")
	_, err := g.RunHuntingQuery(context.Background(), defender.HuntingQuery{Query: "T", MaxResultBytes: 10_000})
	e := defendertest.MustError(t, err, defender.KindFailedPrecondition, defender.ReasonResultTooLarge)
	if !strings.Contains(e.Message, "StreamQuery") || e.Metadata["limit_bytes"] != "10000" {
		t.Errorf("error %q %v, want StreamQuery named and limit_bytes 10000", e.Message, e.Metadata)
	}
	res, err := g.RunHuntingQuery(context.Background(), defender.HuntingQuery{Query: "T", MaxResultBytes: 1 << 20})
	if err != nil || len(res.Rows) != 1000 {
		t.Fatalf("within the bound: %v rows, %v", len(res.Rows), err)
	}
}

// streamSink is a HuntingSink counting rows.
type streamSink struct {
	cols, rows int
	onRow      func(n int) error
}

func (s *streamSink) Columns([]defender.HuntingColumn) error { s.cols++; return nil }
func (s *streamSink) Stats(map[string]any) error             { return nil }
func (s *streamSink) Row(map[string]any) error {
	s.rows++
	if s.onRow != nil {
		return s.onRow(s.rows)
	}
	return nil
}

// TestStreamHuntingQueryRetries: a failure before the sink took anything
// is retried like RunHuntingQuery's; one after is returned, never sent
// again (the caller has seen part of the result).
func TestStreamHuntingQueryRetries(t *testing.T) {
	tests := []struct {
		name      string
		first     string // the first attempt's body; later attempts are whole
		wantCalls int
		wantErr   string // reason, "" for success
	}{
		{"malformed before anything", `<html>`, 2, ""},
		{"truncated after rows", `{"schema":[],"results":[{"X":1},`, 1, defender.ReasonUpstreamMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv, _ := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
				w.Header().Set("Content-Type", "application/json")
				if calls.Add(1) == 1 {
					_, _ = io.WriteString(w, tt.first)
					return
				}
				_, _ = io.WriteString(w, `{"schema":[],"results":[{"X":1},{"X":2}]}`)
			})
			g, err := graph.New(defender.ClientOptions{BaseURL: srv.URL + "/v1.0", HTTPClient: &http.Client{}, Tokens: defendertest.Tokens,
				Retry: defender.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			s := &streamSink{}
			err = g.StreamHuntingQuery(context.Background(), defender.HuntingQuery{Query: "T"}, s)
			if tt.wantErr == "" {
				if err != nil || s.rows != 2 || s.cols != 1 {
					t.Fatalf("err %v, %d rows, %d schemas; want the retried result once", err, s.rows, s.cols)
				}
			} else {
				defendertest.MustError(t, err, defender.KindUnavailable, tt.wantErr)
			}
			if n := int(calls.Load()); n != tt.wantCalls {
				t.Errorf("%d upstream calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

// TestStreamHuntingQueryPacesTheUpstream: rows reach the sink while the
// upstream is still writing the body, and a sink that stops ends the
// upstream read at once.
func TestStreamHuntingQueryPacesTheUpstream(t *testing.T) {
	release := make(chan struct{})
	done := make(chan error, 1)
	srv, _ := defendertest.NewServer(t, func(w http.ResponseWriter, r *http.Request, _ defendertest.RecordedRequest) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"schema":[{"name":"X","type":"Int64"}],"results":[{"X":1}`)
		w.(http.Flusher).Flush()
		<-release // the first row must arrive before the rest is written
		for i := 2; ; i++ {
			if _, err := fmt.Fprintf(w, `,{"X":%d}`, i); err != nil {
				done <- err
				return
			}
			w.(http.Flusher).Flush()
			if r.Context().Err() != nil {
				done <- r.Context().Err()
				return
			}
		}
	})
	g := newTestGraph(t, srv.URL+"/v1.0")
	errStop := errors.New("client gone")
	s := &streamSink{onRow: func(n int) error {
		if n == 1 {
			close(release)
		}
		if n == 100 {
			return errStop
		}
		return nil
	}}
	if err := g.StreamHuntingQuery(context.Background(), defender.HuntingQuery{Query: "T"}, s); err != errStop {
		t.Fatalf("err = %v, want the sink's", err)
	}
	select {
	case <-done: // the handler saw the connection go
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream kept writing after the sink stopped")
	}
}
