package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// TestHuntingLargeResults reads DeviceEvents through both hunting APIs:
// 100,000 rows (the row limit truncates the 250,000), counted by
// HuntingRowsWritten, and small results keep encoding/json's exact bytes.
func TestHuntingLargeResults(t *testing.T) {
	e, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	graphToken := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	xdrToken := tenantToken(t, e, identity.HomeTenantID, identity.XDRResource)
	post := func(url, token, query string) (int, []byte) {
		body, _ := json.Marshal(map[string]string{"Query": query})
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Authorization", token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	tests := []struct {
		name, url, token, results string
	}{
		{"graph", e.GraphURL() + "/security/runHuntingQuery", graphToken, "results"},
		{"xdr", e.XDRURL() + "/api/advancedhunting/run", xdrToken, "Results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, q := range []string{"DeviceEvents"} { // truncated at the row limit
				before := e.HuntingRowsWritten()
				status, body := post(tt.url, tt.token, q)
				if status != http.StatusOK {
					t.Fatalf("%s: %d %.300s", q, status, body)
				}
				var got map[string]json.RawMessage
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatal(err)
				}
				var rows []map[string]any
				if err := json.Unmarshal(got[tt.results], &rows); err != nil {
					t.Fatal(err)
				}
				if len(rows) != 100_000 || len(rows[0]) != 10 {
					t.Fatalf("%s: %d rows of %d columns, want 100000 of 10", q, len(rows), len(rows[0]))
				}
				if n := e.HuntingRowsWritten() - before; n != 100_000 {
					t.Errorf("HuntingRowsWritten grew by %d, want 100000", n)
				}
				t.Logf("%s %q: %d bytes", tt.name, q, len(body))
			}
			// Small results: the body is what json.Encoder writes for the
			// decoded value (sorted row keys, same key order, newline).
			status, body := post(tt.url, tt.token, "AlertInfo | take 3")
			if status != http.StatusOK {
				t.Fatalf("%d %s", status, body)
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var v map[string]any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(string(body), "]}\n") {
				t.Errorf("body does not end like json.Encoder output: %q", body[len(body)-5:])
			}
			// Top-level keys are in struct order, not sorted; compare the
			// results array, encoded as a map's values are.
			var wantRows bytes.Buffer
			_ = json.NewEncoder(&wantRows).Encode(v[tt.results])
			if !bytes.Contains(body, bytes.TrimSuffix(wantRows.Bytes(), []byte("\n"))) {
				t.Errorf("rows are not encoding/json's bytes:\n%s", body)
			}
		})
	}
}
