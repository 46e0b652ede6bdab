package kql

import (
	"reflect"
	"testing"
)

func TestOperators(t *testing.T) {
	tests := []struct {
		name        string
		query       string
		wantColumns []Column
		wantRows    [][]any
	}{
		{
			name:        "project selects, renames and reorders",
			query:       `Events | where Id <= 2 | project Port, Label = Name, Id`,
			wantColumns: []Column{{"Port", TypeInt32}, {"Label", TypeString}, {"Id", TypeInt64}},
			wantRows:    [][]any{{int32(443), "PowerShell.exe -EncodedCommand abc", int64(1)}, {int32(80), "cmd.exe /c whoami", int64(2)}},
		},
		{
			name:        "take keeps the first rows",
			query:       `Events | project Id | take 2`,
			wantColumns: []Column{{"Id", TypeInt64}},
			wantRows:    [][]any{{int64(1)}, {int64(2)}},
		},
		{
			name:        "limit larger than input and limit 0",
			query:       `Events | limit 100 | project Id | limit 0`,
			wantColumns: []Column{{"Id", TypeInt64}},
			wantRows:    [][]any{},
		},
		{
			name:        "order by defaults to desc with nulls last",
			query:       `Events | order by Port | project Id`,
			wantColumns: []Column{{"Id", TypeInt64}},
			wantRows:    [][]any{{int64(5)}, {int64(3)}, {int64(1)}, {int64(2)}, {int64(4)}},
		},
		{
			name:        "sort asc puts nulls first",
			query:       `Events | sort by Score asc | project Id`,
			wantColumns: []Column{{"Id", TypeInt64}},
			wantRows:    [][]any{{int64(3)}, {int64(4)}, {int64(1)}, {int64(2)}, {int64(5)}},
		},
		{
			name:        "several sort keys; ties keep input order",
			query:       `Events | order by Flag asc, Id desc | project Id`,
			wantColumns: []Column{{"Id", TypeInt64}},
			wantRows:    [][]any{{int64(3)}, {int64(5)}, {int64(2)}, {int64(4)}, {int64(1)}},
		},
		{
			name:        "sort strings ordinally (case-sensitive)",
			query:       `Events | where Id in (1, 2, 5) | order by Name asc | project Id`,
			wantColumns: []Column{{"Id", TypeInt64}},
			wantRows:    [][]any{{int64(1)}, {int64(2)}, {int64(5)}},
		},
		{
			name:        "top defaults to desc",
			query:       `Events | top 2 by When | project Id`,
			wantColumns: []Column{{"Id", TypeInt64}},
			wantRows:    [][]any{{int64(5)}, {int64(1)}},
		},
		{
			name:        "top asc",
			query:       `Events | top 1 by When asc | project Id`,
			wantColumns: []Column{{"Id", TypeInt64}},
			wantRows:    [][]any{{int64(4)}},
		},
		{
			name:        "summarize count() by groups in first-seen order, nulls form a group",
			query:       `Events | summarize count() by Flag`,
			wantColumns: []Column{{"Flag", TypeBoolean}, {"count_", TypeInt64}},
			wantRows:    [][]any{{true, int64(2)}, {false, int64(2)}, {nil, int64(1)}},
		},
		{
			name:        "summarize named count by two columns",
			query:       `Events | where Id != 3 | summarize N = count() by Flag, Port`,
			wantColumns: []Column{{"Flag", TypeBoolean}, {"Port", TypeInt32}, {"N", TypeInt64}},
			wantRows:    [][]any{{true, int32(443), int64(1)}, {false, int32(80), int64(1)}, {true, nil, int64(1)}, {false, int32(8080), int64(1)}},
		},
		{
			name:        "summarize count() without by",
			query:       `Events | where Score > 1 | summarize count()`,
			wantColumns: []Column{{"count_", TypeInt64}},
			wantRows:    [][]any{{int64(3)}},
		},
		{
			name:        "summarize count() over no rows yields zero",
			query:       `Events | where Id > 100 | summarize count()`,
			wantColumns: []Column{{"count_", TypeInt64}},
			wantRows:    [][]any{{int64(0)}},
		},
		{
			name:        "summarize count() by over no rows yields no rows",
			query:       `Events | where Id > 100 | summarize count() by Name`,
			wantColumns: []Column{{"Name", TypeString}, {"count_", TypeInt64}},
			wantRows:    [][]any{},
		},
		{
			name:        "summarize by alone lists distinct groups",
			query:       `Events | summarize by Flag`,
			wantColumns: []Column{{"Flag", TypeBoolean}},
			wantRows:    [][]any{{true}, {false}, {nil}},
		},
		{
			name:        "count",
			query:       `Events | where Port > 100 | count`,
			wantColumns: []Column{{"Count", TypeInt64}},
			wantRows:    [][]any{{int64(3)}},
		},
		{
			name:        "stages compose over derived columns",
			query:       `Events | summarize Hits = count() by Flag | where Hits >= 2 | order by Hits | count`,
			wantColumns: []Column{{"Count", TypeInt64}},
			wantRows:    [][]any{{int64(2)}},
		},
	}
	db := newTestDatabase()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustRun(t, db, tt.query)
			if !reflect.DeepEqual(res.Columns, tt.wantColumns) {
				t.Errorf("columns = %v, want %v", res.Columns, tt.wantColumns)
			}
			if !reflect.DeepEqual(res.Rows, tt.wantRows) {
				t.Errorf("rows = %v, want %v", res.Rows, tt.wantRows)
			}
		})
	}
}

func TestRunResultIsACopy(t *testing.T) {
	db := newTestDatabase()
	first := mustRun(t, db, `Events`)
	first.Rows[0][1] = "mutated"
	first.Columns[0].Name = "mutated"
	second := mustRun(t, db, `Events | project Name | take 1`)
	if got := second.Rows[0][0]; got != "PowerShell.exe -EncodedCommand abc" {
		t.Errorf("mutating a result changed the database: got %v", got)
	}
	if cols, _ := db.Schema("Events"); cols[0].Name != "Id" {
		t.Errorf("mutating result columns changed the schema: %v", cols)
	}
}

func TestRunTruncatesToMaxRows(t *testing.T) {
	db := newTestDatabase()
	db.maxRows = 3
	if got := len(mustRun(t, db, `Events`).Rows); got != 3 {
		t.Errorf("rows = %d, want truncation to 3", got)
	}
}
