package kql

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// render prints a query AST compactly so tests can assert its shape.
func render(q *query) string {
	parts := []string{q.table}
	for _, st := range q.stages {
		parts = append(parts, renderStage(st))
	}
	return strings.Join(parts, " | ")
}

func renderStage(st stage) string {
	switch st := st.(type) {
	case *whereStage:
		return "where " + renderExpr(st.pred)
	case *projectStage:
		var items []string
		for _, it := range st.items {
			items = append(items, it.name+"="+it.column.name)
		}
		return "project " + strings.Join(items, ",")
	case *takeStage:
		return fmt.Sprintf("take %d", st.count)
	case *sortStage:
		var keys []string
		for _, k := range st.keys {
			keys = append(keys, renderKey(k))
		}
		return "sort " + strings.Join(keys, ",")
	case *topStage:
		return fmt.Sprintf("top %d %s", st.count, renderKey(st.key))
	case *summarizeStage:
		var by []string
		for _, c := range st.by {
			by = append(by, c.name)
		}
		agg := "-"
		if st.hasCount {
			agg = st.countName
		}
		return fmt.Sprintf("summarize %s by %s", agg, strings.Join(by, ","))
	case *countStage:
		return "count"
	}
	return "?"
}

func renderKey(k sortKey) string {
	if k.desc {
		return k.column.name + " desc"
	}
	return k.column.name + " asc"
}

func renderExpr(e expr) string {
	switch e := e.(type) {
	case *colRef:
		return e.name
	case *literal:
		return fmt.Sprintf("%s(%v)", e.typ, e.value)
	case *callExpr:
		var args []string
		for _, a := range e.args {
			args = append(args, renderExpr(a))
		}
		return e.name + "(" + strings.Join(args, ",") + ")"
	case *notExpr:
		return "not(" + renderExpr(e.arg) + ")"
	case *logicalExpr:
		return "(" + renderExpr(e.left) + " " + e.op + " " + renderExpr(e.right) + ")"
	case *binaryExpr:
		return "(" + renderExpr(e.left) + " " + e.op + " " + renderExpr(e.right) + ")"
	case *inExpr:
		var items []string
		for _, a := range e.list {
			items = append(items, renderExpr(a))
		}
		op := "in"
		if e.negated {
			op = "!" + op
		}
		if e.caseInsensitive {
			op += "~"
		}
		return "(" + renderExpr(e.left) + " " + op + " [" + strings.Join(items, ",") + "])"
	}
	return "?"
}

func TestParse(t *testing.T) {
	tests := []struct {
		input string
		want  string
	}{
		{"T", "T"},
		{"T;", "T"},
		{"T\n// comment\n| take 5 ;", "T | take 5"},
		{"T | limit 0", "T | take 0"},
		{`T | where A == "x" or B == 1 and not(C)`, `T | where ((A == String(x)) or ((B == Int64(1)) and not(C)))`},
		{`T | where (A == "x" or B == 1) and C`, `T | where (((A == String(x)) or (B == Int64(1))) and C)`},
		{`T | filter A !has 'y'`, `T | where (A !has String(y))`},
		{`T | where A in ("a", "b") and B !in~ ('c')`, `T | where ((A in [String(a),String(b)]) and (B !in~ [String(c)]))`},
		{`T | where Timestamp > ago(7d) and Timestamp <= now(-1h)`, `T | where ((Timestamp > ago(TimeSpan(168h0m0s))) and (Timestamp <= now(TimeSpan(-1h0m0s))))`},
		{`T | where X > -2.5 and Y < datetime(2024-01-01)`, `T | where ((X > Double(-2.5)) and (Y < DateTime(2024-01-01 00:00:00 +0000 UTC)))`},
		{`T | project A, Renamed = B`, `T | project A=A,Renamed=B`},
		{`T | order by A, B asc, C desc`, `T | sort A desc,B asc,C desc`},
		{`T | sort by A asc`, `T | sort A asc`},
		{`T | top 3 by A`, `T | top 3 A desc`},
		{`T | top 3 by A asc`, `T | top 3 A asc`},
		{`T | summarize count()`, `T | summarize count_ by `},
		{`T | summarize N = count() by A, B`, `T | summarize N by A,B`},
		{`T | summarize by A`, `T | summarize - by A`},
		{`T | count`, `T | count`},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			q, err := parse(tt.input)
			if err != nil {
				t.Fatalf("parse(%q) error: %v", tt.input, err)
			}
			if got := render(q); got != tt.want {
				t.Errorf("parse(%q)\n got %s\nwant %s", tt.input, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		input       string
		wantMessage string
		wantLine    int
		wantCol     int
	}{
		{"", "Query could not be parsed at '<EOF>' on line [1,1]", 1, 1},
		{"| take 1", "Query could not be parsed at '|' on line [1,1]", 1, 1},
		{"T |", "Query could not be parsed at '<EOF>' on line [1,4]", 1, 4},
		{"T | take", "Query could not be parsed at '<EOF>' on line [1,9]", 1, 9},
		{"T | take -1", "Query could not be parsed at '-' on line [1,10]", 1, 10},
		{"T\n| where A ==", "Query could not be parsed at '<EOF>' on line [2,13]", 2, 13},
		{"T | where A == 1 == 2", "Query could not be parsed at '==' on line [1,18]", 1, 18},
		{"T | where (A == 1", "Query could not be parsed at '<EOF>' on line [1,18]", 1, 18},
		{"T | where A = 1", "Query could not be parsed at '=' on line [1,13]", 1, 13},
		{"T | frobnicate", "Query could not be parsed at 'frobnicate' on line [1,5]", 1, 5},
		{"T | order A", "Query could not be parsed at 'A' on line [1,11]", 1, 11},
		{"T | top 5 A", "Query could not be parsed at 'A' on line [1,11]", 1, 11},
		{"T; T", "Query could not be parsed at 'T' on line [1,4]", 1, 4},
		{"T | project", "Query could not be parsed at '<EOF>' on line [1,12]", 1, 12},
		{"T | summarize count(A)", "Query could not be parsed at 'A' on line [1,21]", 1, 21},
		{"T | where A in ()", "Query could not be parsed at ')' on line [1,17]", 1, 17},
		{"T | where !contains 'x'", "Query could not be parsed at '!contains' on line [1,11]", 1, 11},
		{"T | where A == - 1", "Query could not be parsed at '-' on line [1,16]", 1, 16},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			assertError(t, parseErr(tt.input), tt.wantMessage, tt.wantLine, tt.wantCol)
		})
	}
}

func parseErr(input string) error {
	_, err := parse(input)
	return err
}

// assertError checks that err is an *Error with the given message and
// position.
func assertError(t *testing.T, err error, wantMessage string, wantLine, wantCol int) {
	t.Helper()
	var kerr *Error
	if !errors.As(err, &kerr) {
		t.Fatalf("error = %v (%T), want *Error %q", err, err, wantMessage)
	}
	if kerr.Message != wantMessage || kerr.Line != wantLine || kerr.Col != wantCol {
		t.Errorf("error = %q at [%d,%d], want %q at [%d,%d]", kerr.Message, kerr.Line, kerr.Col, wantMessage, wantLine, wantCol)
	}
	if kerr.Error() != kerr.Message {
		t.Errorf("Error() = %q, want the message %q", kerr.Error(), kerr.Message)
	}
}

func TestParseUnsupported(t *testing.T) {
	tests := []struct {
		input       string
		wantMessage string
		wantCol     int
	}{
		{"T | join (U) on Id", "'join' operator is not supported by the Defender Gateway emulator", 5},
		{"T | extend X = 1", "'extend' operator is not supported by the Defender Gateway emulator", 5},
		{"T | parse A with * 'x' B", "'parse' operator is not supported by the Defender Gateway emulator", 5},
		{"T | render timechart", "'render' operator is not supported by the Defender Gateway emulator", 5},
		{"T | union U", "'union' operator is not supported by the Defender Gateway emulator", 5},
		{"T | mv-expand A", "'mv-expand' operator is not supported by the Defender Gateway emulator", 5},
		{"T | project-away A", "'project-away' operator is not supported by the Defender Gateway emulator", 5},
		{"T | distinct A", "'distinct' operator is not supported by the Defender Gateway emulator", 5},
		{"let x = 1; T", "'let' statement is not supported by the Defender Gateway emulator", 1},
		{"union T, U", "'union' statement is not supported by the Defender Gateway emulator", 1},
		{"T | where tolower(A) == 'x'", "'tolower' function is not supported by the Defender Gateway emulator", 11},
		{"T | where A between (1 .. 5)", "'between' operator is not supported by the Defender Gateway emulator", 13},
		{"T | where A has_any ('x')", "'has_any' operator is not supported by the Defender Gateway emulator", 13},
		{"T | where A matches regex 'x'", "'matches' operator is not supported by the Defender Gateway emulator", 13},
		{"T | summarize dcount(A)", "'dcount' aggregation function is not supported by the Defender Gateway emulator", 15},
		{"T | summarize N = sum(A) by B", "'sum' aggregation function is not supported by the Defender Gateway emulator", 19},
		{"T | summarize count() by bin(Timestamp, 1d)", "'bin' function is not supported by the Defender Gateway emulator", 26},
		{"T | summarize count() by Day = A", "'by Name = Column' summarize form is not supported by the Defender Gateway emulator", 30},
		{"T | project X = strlen(A)", "'strlen' function is not supported by the Defender Gateway emulator", 17},
		{"T | order by A nulls last", "'nulls first/last' sort option is not supported by the Defender Gateway emulator", 16},
		{"T | where Timestamp > now() - 1d", "Arithmetic operator '-' is not supported by the Defender Gateway emulator; use ago() or now(offset) for relative times (line [1,29])", 29},
		{"T | where A.b == 1", "Property access '.' is not supported by the Defender Gateway emulator (line [1,12])", 12},
		{"T | summarize count(), count()", "Only a single count() aggregation is supported by the Defender Gateway emulator (line [1,22])", 22},
		{"T | project A + 1", "'project' supports only column names and NewName = Column in the Defender Gateway emulator; found '+' on line [1,15]", 15},
		{"T | where not(A, B)", "not() expects exactly one argument (line [1,11])", 11},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			assertError(t, parseErr(tt.input), tt.wantMessage, 1, tt.wantCol)
		})
	}
}

func TestParseNestingLimit(t *testing.T) {
	tests := []struct {
		name    string
		depth   int
		wantErr bool
	}{
		{"within limit", maxNestingDepth - 1, false},
		{"parentheses beyond limit", maxNestingDepth + 1, true},
		{"far beyond limit", 100_000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := "T | where " + strings.Repeat("(", tt.depth) + "A" + strings.Repeat(")", tt.depth)
			err := parseErr(input)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("parse error: %v", err)
				}
				return
			}
			var kerr *Error
			if !errors.As(err, &kerr) || !strings.Contains(kerr.Message, "nested too deeply") {
				t.Fatalf("error = %v, want a nesting *Error", err)
			}
		})
	}
	t.Run("not() nesting", func(t *testing.T) {
		input := "T | where " + strings.Repeat("not(", 1000) + "A" + strings.Repeat(")", 1000)
		var kerr *Error
		if err := parseErr(input); !errors.As(err, &kerr) || !strings.Contains(kerr.Message, "nested too deeply") {
			t.Fatalf("error = %v, want a nesting *Error", err)
		}
	})
}
