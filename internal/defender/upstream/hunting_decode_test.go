package upstream

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
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

func (s *recordSink) Columns(cols []defender.HuntingColumn) error {
	return s.add(fmt.Sprintf("columns %v", cols))
}

func (s *recordSink) Row(r map[string]any) error { return s.add(fmt.Sprintf("row %v", r)) }

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
	capped := &resultCap{r: strings.NewReader(`{"results":[{"X":"` + strings.Repeat("a", 100) + `"}]}`), left: 50, err: defender.ResultTooLargeError(50)}
	defendertest.MustError(t, decodeHunting(capped, &recordSink{}, false), defender.KindFailedPrecondition, defender.ReasonResultTooLarge)
}
