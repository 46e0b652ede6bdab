package kql

import (
	"context"
	"testing"
	"time"
)

// testNow anchors ago()/now() for the hand-built test table.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newTestDatabase returns a tiny table whose rows the tests reason about by
// Id, including nulls in several columns.
func newTestDatabase() *Database {
	cols := []Column{
		{"Id", TypeInt64}, {"Name", TypeString}, {"Port", TypeInt32}, {"Score", TypeDouble},
		{"Flag", TypeBoolean}, {"When", TypeDateTime}, {"Extra", TypeDynamic},
	}
	rows := [][]any{
		{int64(1), "PowerShell.exe -EncodedCommand abc", int32(443), 1.5, true, testNow.Add(-time.Hour), map[string]any{"k": "v"}},
		{int64(2), "cmd.exe /c whoami", int32(80), 2.0, false, testNow.Add(-48 * time.Hour), nil},
		{int64(3), "Invoke-Mimikatz", int32(4444), nil, nil, testNow.Add(-240 * time.Hour), []any{"a"}},
		{int64(4), "", nil, 0.5, true, testNow.Add(-960 * time.Hour), nil},
		{int64(5), "powershell_ise.exe", int32(8080), 3.0, false, testNow.Add(-5 * time.Minute), nil},
	}
	return &Database{now: testNow, maxRows: MaxResultRows, tables: map[string]*table{"Events": {columns: cols, rows: rows}}}
}

// mustRun runs a query that is expected to succeed.
func mustRun(t *testing.T, db *Database, q string) *Result {
	t.Helper()
	res, err := db.Run(context.Background(), q)
	if err != nil {
		t.Fatalf("Run(%q) error: %v", q, err)
	}
	return res
}

// columnValues returns one column of a result by name.
func columnValues(t *testing.T, res *Result, name string) []any {
	t.Helper()
	idx := -1
	for i, c := range res.Columns {
		if c.Name == name {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("result has no column %q: %v", name, res.Columns)
	}
	out := make([]any, len(res.Rows))
	for i, row := range res.Rows {
		out[i] = row[idx]
	}
	return out
}
