package kql

import (
	"context"
	"errors"
	"testing"
)

// FuzzRun checks that Run never panics and only ever fails with *Error for
// arbitrary query text.
func FuzzRun(f *testing.F) {
	seeds := []string{
		"",
		"DeviceProcessEvents",
		`DeviceProcessEvents | where ProcessCommandLine has "EncodedCommand" and Timestamp > ago(7d) | summarize count() by DeviceName | top 5 by count_`,
		`DeviceNetworkEvents | where RemotePort in (4444, 80) or RemoteIP !in~ ('x') | project Ip = RemoteIP, RemotePort | order by RemotePort asc, Ip`,
		`AlertInfo | where not(Severity == "Low") and Timestamp between (ago(1d) .. now())`,
		`EmailEvents | where Timestamp < datetime(2026-01-01T00:00:00Z) | count;`,
		"T | where ((((A))))",
		`T | where "unterminated`,
		"AlertInfo | where Title =~ @'x''y' | take 1 // c\n| limit 2",
		"DeviceProcessEvents | where ProcessId > -1.5e3 and ProcessId < now(-1d)",
		"datetime(2024-01-01) | mv-expand x",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	db := NewSampleDatabase("fuzz-tenant", sampleNow)
	f.Fuzz(func(t *testing.T, query string) {
		res, err := db.Run(context.Background(), query)
		if err != nil {
			var kerr *Error
			if !errors.As(err, &kerr) {
				t.Fatalf("Run(%q) returned a non-*Error: %v", query, err)
			}
			if kerr.Message == "" {
				t.Fatalf("Run(%q) returned an empty message", query)
			}
			return
		}
		for _, row := range res.Rows {
			if len(row) != len(res.Columns) {
				t.Fatalf("Run(%q): row width %d, %d columns", query, len(row), len(res.Columns))
			}
		}
	})
}
