package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/kql"
)

// Hunting result size limits (the emulator reads Microsoft's "MB" as MiB).
const (
	// GraphMaxResultBytes is Graph runHuntingQuery's documented 50 MB.
	GraphMaxResultBytes = 50 << 20
	// XDRMaxResultBytes is the emulator's choice for the XDR API, which
	// documents none: the 124 MB of its sibling MDE advancedqueries/run.
	XDRMaxResultBytes = 124 << 20
)

// ResultTooLargeMessage is the format (limit in MB) of the 400 a hunting
// query gets when its JSON result would exceed the API's size limit. The
// emulator's wording; it is sent before any row.
const ResultTooLargeMessage = "Query result exceeds the allowed size of %d MB. Narrow the query with a shorter time range, fewer columns or a take."

// flushEvery is how many body bytes are buffered between flushes.
const flushEvery = 64 << 10

// rowEncoder encodes result rows as JSON objects with the keys in sorted
// order, exactly as encoding/json encodes a map[string]any.
type rowEncoder struct {
	order      []int    // column indexes sorted by name
	keys       [][]byte // `"Name":` per position of order
	formatTime func(time.Time) string
}

func newRowEncoder(cols []kql.Column, formatTime func(time.Time) string) *rowEncoder {
	e := &rowEncoder{formatTime: formatTime}
	for i := range cols {
		e.order = append(e.order, i)
	}
	slices.SortStableFunc(e.order, func(a, b int) int {
		if cols[a].Name < cols[b].Name {
			return -1
		} else if cols[a].Name > cols[b].Name {
			return 1
		}
		return 0
	})
	// Duplicate names keep the last value, as a map would.
	e.order = slices.CompactFunc(e.order, func(a, b int) bool { return cols[a].Name == cols[b].Name })
	for _, i := range e.order {
		k, _ := json.Marshal(cols[i].Name)
		e.keys = append(e.keys, append(k, ':'))
	}
	return e
}

func (e *rowEncoder) append(buf []byte, row []any) []byte {
	buf = append(buf, '{')
	for n, i := range e.order {
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e.keys[n]...)
		var v any
		if i < len(row) {
			v = row[i]
		}
		switch x := v.(type) {
		case nil:
			buf = append(buf, "null"...)
		case bool:
			buf = strconv.AppendBool(buf, x)
		case int64:
			buf = strconv.AppendInt(buf, x, 10)
		case int32:
			buf = strconv.AppendInt(buf, int64(x), 10)
		case time.Time:
			b, _ := json.Marshal(e.formatTime(x))
			buf = append(buf, b...)
		default:
			b, _ := json.Marshal(x)
			buf = append(buf, b...)
		}
	}
	return append(buf, '}')
}

// MeasureHunting reads a query once without keeping anything and returns
// its row count and the byte size of its encoded rows.
func MeasureHunting(ctx context.Context, db *kql.Database, query string, formatTime func(time.Time) string) (rows int, size int64, err error) {
	s, err := db.Stream(ctx, query)
	if err != nil {
		return 0, 0, err
	}
	enc := newRowEncoder(s.Columns(), formatTime)
	var buf []byte
	for s.Next() {
		buf = enc.append(buf[:0], s.Row())
		size += int64(len(buf)) + 1
		rows++
	}
	return rows, size, s.Err()
}

// StreamHunting writes a 200 hunting body: open, the rows of s one by one
// (flushing every 64 KiB, so a slow reader holds the query back), close,
// and a newline as json.Encoder writes. It stops when a write fails (the
// client went away) or s ends; written counts every row written.
func StreamHunting(w http.ResponseWriter, s *kql.Stream, formatTime func(time.Time) string, open, close []byte, written *atomic.Int64) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := newRowEncoder(s.Columns(), formatTime)
	buf := bytes.Clone(open)
	first := true
	for s.Next() {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = enc.append(buf, s.Row())
		if written != nil {
			written.Add(1)
		}
		if len(buf) >= flushEvery {
			if _, err := w.Write(buf); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, close...)
	buf = append(buf, '\n')
	_, _ = w.Write(buf)
}
