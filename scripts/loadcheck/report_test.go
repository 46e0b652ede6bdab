package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPercentileMs(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		ds   []time.Duration
		p    int
		want float64
	}{
		{"empty", nil, 50, -1},
		{"one", ms(7), 99, 7},
		{"median of unsorted", ms(5, 1, 3, 2, 4), 50, 3},
		{"p99 of 100 is the 99th", ms(seq(100)...), 99, 99},
		{"p99 of 10 is the largest", ms(seq(10)...), 99, 10},
		{"p50 of 4 is the 2nd", ms(4, 3, 2, 1), 50, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentileMs(tt.ds, tt.p); got != tt.want {
				t.Errorf("percentileMs(p%d) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// TestGrowth: growth fails exactly when a reading passes its tolerance.
func TestGrowth(t *testing.T) {
	before := sample{Goroutines: 30, OpenFDs: 20, RSSBytes: 40 << 20}
	tests := []struct {
		name    string
		after   sample
		wantErr bool
	}{
		{"unchanged", before, false},
		{"fewer", sample{Goroutines: 20, OpenFDs: 10, RSSBytes: 30 << 20}, false},
		{"at every limit", sample{Goroutines: 40, OpenFDs: 25, RSSBytes: 66 << 20}, false},
		{"one goroutine too many", sample{Goroutines: 41, OpenFDs: 20, RSSBytes: 40 << 20}, true},
		{"one fd too many", sample{Goroutines: 30, OpenFDs: 26, RSSBytes: 40 << 20}, true},
		{"RSS past 1.25x + 16 MiB", sample{Goroutines: 30, OpenFDs: 20, RSSBytes: 66<<20 + 1}, true},
	}
	dir := t.TempDir()
	write := func(name string, s sample) string {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	b := write("before.json", before)
	stdout := os.Stdout
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := write("after.json", tt.after)
			os.Stdout = devnull
			err := growth([]string{b, a})
			os.Stdout = stdout
			if (err != nil) != tt.wantErr {
				t.Errorf("growth = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
