package graph

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	jsonv1 "github.com/go-json-experiment/json/v1"
)

// BenchmarkDecode decodes an emulator Graph incident with its alerts
// (testdata/bench_incident.json, 3.5 KB) and a 50-incident page
// (testdata/bench_list.json, 47 KB) into the wire structs, with
// encoding/json and with the decoder upstream.Client uses
// (go-json-experiment's v1 semantics on the v2 engine):
//
//	go test -run '^$' -bench Decode -benchmem -cpu 1 ./internal/defender/graph/
func BenchmarkDecode(b *testing.B) {
	for _, tc := range []struct {
		name, file string
		new        func() any
	}{
		{"get", "bench_incident.json", func() any { return new(graphIncident) }},
		{"list", "bench_list.json", func() any { return new(graphIncidentList) }},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			b.Fatal(err)
		}
		for _, dec := range []struct {
			name      string
			unmarshal func([]byte, any) error
		}{{"encoding-json", json.Unmarshal}, {"json-v1-on-v2", func(d []byte, v any) error { return jsonv1.Unmarshal(d, v) }}} {
			b.Run(tc.name+"/"+dec.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if err := dec.unmarshal(data, tc.new()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestDecodersAgree: both decoders give the same wire structs for the
// benchmark's bodies, so the faster one changes nothing.
func TestDecodersAgree(t *testing.T) {
	for _, tc := range []struct {
		file string
		new  func() any
	}{
		{"bench_incident.json", func() any { return new(graphIncident) }},
		{"bench_list.json", func() any { return new(graphIncidentList) }},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		std, v2 := tc.new(), tc.new()
		if err := json.Unmarshal(data, std); err != nil {
			t.Fatal(err)
		}
		if err := jsonv1.Unmarshal(data, v2); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(std)
		b, _ := json.Marshal(v2)
		if len(a) < len(data)/4 || string(a) != string(b) {
			t.Errorf("%s: the decoders disagree (or decoded little):\nencoding/json %.300s\njson v1-on-v2 %.300s", tc.file, a, b)
		}
	}
}
