package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/kql"
)

var testNow = time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// TestStreamHuntingMatchesEncodingJSON: the streamed rows are the bytes
// json.Encoder writes for the same rows as maps, for every sample table.
func TestStreamHuntingMatchesEncodingJSON(t *testing.T) {
	db := kql.NewSampleDatabase("tenant-a", testNow)
	for _, q := range []string{"AlertInfo", "EmailEvents | take 50", "DeviceEvents | take 300", "DeviceProcessEvents | project FileName, ProcessId"} {
		t.Run(q, func(t *testing.T) {
			res, err := db.Run(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			_ = json.NewEncoder(&want).Encode(struct {
				Results []map[string]any `json:"results"`
			}{res.RowObjects(rfc3339)})
			s, err := db.Stream(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			var n atomic.Int64
			StreamHunting(rec, s, rfc3339, []byte(`{"results":[`), []byte("]}"), &n)
			if !bytes.Equal(rec.Body.Bytes(), want.Bytes()) {
				t.Fatalf("streamed body differs from encoding/json")
			}
			if n.Load() != int64(len(res.Rows)) {
				t.Errorf("counted %d rows, want %d", n.Load(), len(res.Rows))
			}
			rows, size, err := MeasureHunting(context.Background(), db, q, rfc3339)
			if err != nil || rows != len(res.Rows) {
				t.Fatalf("MeasureHunting = %d rows, %v", rows, err)
			}
			// size counts each row and one separator per row.
			if body := int64(rec.Body.Len() - len(`{"results":[]}`+"\n") + 1); len(res.Rows) > 0 && size != body {
				t.Errorf("measured %d bytes, body has %d", size, body)
			}
		})
	}
}

// failingWriter is a client that went away after the first write.
type failingWriter struct {
	header http.Header
	writes int
}

func (f *failingWriter) Header() http.Header { return f.header }
func (f *failingWriter) WriteHeader(int)     {}
func (f *failingWriter) Write(p []byte) (int, error) {
	f.writes++
	if f.writes > 1 {
		return 0, errors.New("connection reset")
	}
	return len(p), nil
}

func TestStreamHuntingStopsWhenWriteFails(t *testing.T) {
	db := kql.NewSampleDatabase("tenant-a", testNow)
	s, err := db.Stream(context.Background(), "DeviceEvents")
	if err != nil {
		t.Fatal(err)
	}
	w := &failingWriter{header: http.Header{}}
	var n atomic.Int64
	StreamHunting(w, s, rfc3339, []byte("["), []byte("]"), &n)
	// Two 64 KiB flushes hold a few hundred rows, far from 100,000.
	if got := n.Load(); got == 0 || got > 1000 {
		t.Errorf("wrote %d rows after the client went away", got)
	}
	if w.writes != 2 {
		t.Errorf("%d writes, want 2", w.writes)
	}
}
