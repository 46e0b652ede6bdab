package main

import (
	"strings"
	"testing"
	"time"
)

func TestTable(t *testing.T) {
	rows := []measurement{
		{path: "direct", op: "get", calls: 1000, upstream: 1000, cpu: 400 * time.Millisecond, peakRSS: 20 << 20},
		{path: "grpc", op: "get", calls: 1000, upstream: 1000, cpu: 600 * time.Millisecond, peakRSS: 48 << 20},
		{path: "direct", op: "list", calls: 100, upstream: 50, cpu: 200 * time.Millisecond, peakRSS: 25 << 20},
		{path: "rest", op: "list", calls: 100, upstream: 50, cpu: 300 * time.Millisecond, peakRSS: 60 << 20},
	}
	got := table(rows)
	for _, want := range []string{
		"| direct | get | 1000 | 1.00 | 0.400 | 1 | — | 20.0 |",
		"| grpc | get | 1000 | 1.00 | 0.600 | 1.50× | ≤ 1.5× | 48.0 |",
		"| direct | list | 100 | 0.50 | 2.000 | 1 | — | 25.0 |",
		"| rest | list | 100 | 0.50 | 3.000 | 1.50× | ≤ 1.3× | 60.0 |",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("table() has no row %q:\n%s", want, got)
		}
	}
}
