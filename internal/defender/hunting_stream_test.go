package defender

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recordSink records what decodeHunting hands it, in order.
type recordSink struct {
	events []string
	failAt int // fail the nth event (1-based); 0 never
}

var errSink = errors.New("sink says stop")

func (s *recordSink) add(e string) error {
	s.events = append(s.events, e)
	if s.failAt == len(s.events) {
		return errSink
	}
	return nil
}

func (s *recordSink) Columns(cols []HuntingColumn) error {
	return s.add(fmt.Sprintf("columns %v", cols))
}
func (s *recordSink) Row(r map[string]any) error    { return s.add(fmt.Sprintf("row %v", r)) }
func (s *recordSink) Stats(st map[string]any) error { return s.add(fmt.Sprintf("stats %v", st)) }

func TestDecodeHunting(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		keepStats bool
		failAt    int
		want      []string
		wantErr   string // "sink", "malformed" or ""
	}{
		{"graph", `{"@odata.context":"x","schema":[{"name":"N","type":"Int64"}],"results":[{"N":"1"},{"N":2}]}`, false, 0,
			[]string{"columns [{N Int64}]", "row map[N:1]", "row map[N:2]"}, ""},
		{"xdr with stats first", `{"Stats":{"ExecutionTime":0.1},"Schema":[{"Name":"N","Type":"Int64"}],"Results":[{"N":3}]}`, true, 0,
			[]string{"stats map[ExecutionTime:0.1]", "columns [{N Int64}]", "row map[N:3]"}, ""},
		{"stats dropped without keepStats", `{"Stats":{"a":1},"Schema":[],"Results":[]}`, false, 0,
			[]string{"columns []"}, ""},
		{"results before schema are held, then typed", `{"results":[{"B":"true"}],"schema":[{"name":"B","type":"Boolean"}]}`, false, 0,
			[]string{"columns [{B Boolean}]", "row map[B:true]"}, ""},
		{"no schema at all", `{"results":[{"X":1}]}`, false, 0, []string{"columns []", "row map[X:1]"}, ""},
		{"null results", `{"schema":[{"name":"X","type":"String"}],"results":null}`, false, 0, []string{"columns [{X String}]"}, ""},
		{"truncated", `{"schema":[{"name":"X","type":"String"}],"results":[{"X":"a"},{"X":`, false, 0,
			[]string{"columns [{X String}]", "row map[X:a]"}, "malformed"},
		{"not JSON", `<html>502</html>`, false, 0, nil, "malformed"},
		{"empty", ``, false, 0, nil, "malformed"},
		{"results not an array", `{"results":{"X":1}}`, false, 0, nil, "malformed"},
		{"trailing garbage after the object is not read", `{"results":[]} garbage`, false, 0, []string{"columns []"}, ""},
		{"the sink stops it", `{"schema":[],"results":[{"X":1},{"X":2},{"X":3}]}`, false, 2,
			[]string{"columns []", "row map[X:1]"}, "sink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &recordSink{failAt: tt.failAt}
			err := decodeHunting(strings.NewReader(tt.body), s, tt.keepStats)
			var malformed *malformedBodyError
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case "sink":
				if err != errSink {
					t.Fatalf("err = %v, want the sink's own error unchanged", err)
				}
			case "malformed":
				if !errors.As(err, &malformed) {
					t.Fatalf("err = %v (%T), want a malformed body", err, err)
				}
			}
			if !reflect.DeepEqual(s.events, tt.want) {
				t.Errorf("events = %q, want %q", s.events, tt.want)
			}
		})
	}
}

// failingReader serves data, then fails with err.
type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestDecodeHuntingReadFailures(t *testing.T) {
	reset := errors.New("connection reset by peer")
	err := decodeHunting(&failingReader{data: `{"results":[{"X":1},`, err: reset}, &recordSink{}, false)
	var read *bodyReadError
	if !errors.As(err, &read) || !errors.Is(err, reset) {
		t.Errorf("a failed read = %v (%T), want a body read error", err, err)
	}
	capped := &resultCap{r: strings.NewReader(`{"results":[{"X":"` + strings.Repeat("a", 100) + `"}]}`), left: 50, err: ResultTooLargeError(50)}
	mustError(t, decodeHunting(capped, &recordSink{}, false), KindFailedPrecondition, ReasonResultTooLarge)
}

// TestRunHuntingQueryBound: a result past MaxResultBytes is
// RESULT_TOO_LARGE, naming StreamQuery; one within it is returned whole.
func TestRunHuntingQueryBound(t *testing.T) {
	rows := strings.TrimSuffix(strings.Repeat(`{"X":"0123456789"},`, 1000), ",")
	srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"schema":[{"name":"X","type":"String"}],"results":[`+rows+`]}`)
	})
	g := newTestGraph(t, srv.URL+"/v1.0")
	_, err := g.RunHuntingQuery(context.Background(), HuntingQuery{Query: "T", MaxResultBytes: 10_000})
	e := mustError(t, err, KindFailedPrecondition, ReasonResultTooLarge)
	if !strings.Contains(e.Message, "StreamQuery") || e.Metadata["limit_bytes"] != "10000" {
		t.Errorf("error %q %v, want StreamQuery named and limit_bytes 10000", e.Message, e.Metadata)
	}
	res, err := g.RunHuntingQuery(context.Background(), HuntingQuery{Query: "T", MaxResultBytes: 1 << 20})
	if err != nil || len(res.Rows) != 1000 {
		t.Fatalf("within the bound: %v rows, %v", len(res.Rows), err)
	}
}

// streamSink is a HuntingSink counting rows.
type streamSink struct {
	cols, rows int
	onRow      func(n int) error
}

func (s *streamSink) Columns([]HuntingColumn) error { s.cols++; return nil }
func (s *streamSink) Stats(map[string]any) error    { return nil }
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
		{"truncated after rows", `{"schema":[],"results":[{"X":1},`, 1, ReasonUpstreamMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ recordedRequest) {
				w.Header().Set("Content-Type", "application/json")
				if calls.Add(1) == 1 {
					_, _ = io.WriteString(w, tt.first)
					return
				}
				_, _ = io.WriteString(w, `{"schema":[],"results":[{"X":1},{"X":2}]}`)
			})
			g, err := NewGraph(ClientOptions{BaseURL: srv.URL + "/v1.0", HTTPClient: &http.Client{}, Tokens: testTokens,
				Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			s := &streamSink{}
			err = g.StreamHuntingQuery(context.Background(), HuntingQuery{Query: "T"}, s)
			if tt.wantErr == "" {
				if err != nil || s.rows != 2 || s.cols != 1 {
					t.Fatalf("err %v, %d rows, %d schemas; want the retried result once", err, s.rows, s.cols)
				}
			} else {
				mustError(t, err, KindUnavailable, tt.wantErr)
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
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, _ recordedRequest) {
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
	if err := g.StreamHuntingQuery(context.Background(), HuntingQuery{Query: "T"}, s); err != errStop {
		t.Fatalf("err = %v, want the sink's", err)
	}
	select {
	case <-done: // the handler saw the connection go
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream kept writing after the sink stopped")
	}
}
