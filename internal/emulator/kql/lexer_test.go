package kql

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []token
	}{
		{
			name:  "pipeline with comparison and literal kinds",
			input: `T | where A >= 10 and B != 2.5`,
			want: []token{
				{kind: tokIdent, text: "T", pos: pos{1, 1}},
				{kind: tokPunct, text: "|", pos: pos{1, 3}},
				{kind: tokIdent, text: "where", pos: pos{1, 5}},
				{kind: tokIdent, text: "A", pos: pos{1, 11}},
				{kind: tokPunct, text: ">=", pos: pos{1, 13}},
				{kind: tokInt, text: "10", value: int64(10), pos: pos{1, 16}},
				{kind: tokIdent, text: "and", pos: pos{1, 19}},
				{kind: tokIdent, text: "B", pos: pos{1, 23}},
				{kind: tokPunct, text: "!=", pos: pos{1, 25}},
				{kind: tokReal, text: "2.5", value: 2.5, pos: pos{1, 28}},
				{kind: tokEOF, pos: pos{1, 31}},
			},
		},
		{
			name:  "strings with escapes, comments and newlines",
			input: "\"a\\\"b\" // note\n  'it\\'s\\n' @\"C:\\x\"\"y\"",
			want: []token{
				{kind: tokString, text: `"a\"b"`, value: `a"b`, pos: pos{1, 1}},
				{kind: tokString, text: `'it\'s\n'`, value: "it's\n", pos: pos{2, 3}},
				{kind: tokString, text: `@"C:\x""y"`, value: `C:\x"y`, pos: pos{2, 13}},
				{kind: tokEOF, pos: pos{2, 23}},
			},
		},
		{
			name:  "timespans, datetime and negated word operators",
			input: "1d 2h 30m 10s 100ms 1.5h datetime(2024-01-02T03:04:05Z) !contains in~ !in~",
			want: []token{
				{kind: tokTimespan, text: "1d", value: 24 * time.Hour, pos: pos{1, 1}},
				{kind: tokTimespan, text: "2h", value: 2 * time.Hour, pos: pos{1, 4}},
				{kind: tokTimespan, text: "30m", value: 30 * time.Minute, pos: pos{1, 7}},
				{kind: tokTimespan, text: "10s", value: 10 * time.Second, pos: pos{1, 11}},
				{kind: tokTimespan, text: "100ms", value: 100 * time.Millisecond, pos: pos{1, 15}},
				{kind: tokTimespan, text: "1.5h", value: 90 * time.Minute, pos: pos{1, 21}},
				{kind: tokDatetime, text: "datetime(2024-01-02T03:04:05Z)", value: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), pos: pos{1, 26}},
				{kind: tokIdent, text: "!contains", pos: pos{1, 57}},
				{kind: tokIdent, text: "in~", pos: pos{1, 67}},
				{kind: tokIdent, text: "!in~", pos: pos{1, 71}},
				{kind: tokEOF, pos: pos{1, 75}},
			},
		},
		{
			name:  "datetime date-only and quoted forms; datetime without parens is an identifier",
			input: `datetime("2024-05-06") datetime(2024-05-06 07:08) datetime`,
			want: []token{
				{kind: tokDatetime, text: `datetime("2024-05-06")`, value: time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC), pos: pos{1, 1}},
				{kind: tokDatetime, text: `datetime(2024-05-06 07:08)`, value: time.Date(2024, 5, 6, 7, 8, 0, 0, time.UTC), pos: pos{1, 24}},
				{kind: tokIdent, text: "datetime", pos: pos{1, 51}},
				{kind: tokEOF, pos: pos{1, 59}},
			},
		},
		{
			name:  "columns count runes, not bytes",
			input: "'é' x",
			want: []token{
				{kind: tokString, text: "'é'", value: "é", pos: pos{1, 1}},
				{kind: tokIdent, text: "x", pos: pos{1, 5}},
				{kind: tokEOF, pos: pos{1, 6}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tokenize(tt.input)
			if err != nil {
				t.Fatalf("tokenize(%q) error: %v", tt.input, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tokenize(%q)\n got %+v\nwant %+v", tt.input, got, tt.want)
			}
		})
	}
}

func TestTokenizeErrors(t *testing.T) {
	tests := []struct {
		input       string
		wantMessage string
		wantLine    int
		wantCol     int
	}{
		{"T | where A == \"open", "Query could not be parsed at '\"' on line [1,16]", 1, 16},
		{"T\n| where A == 'x\ny'", "Query could not be parsed at ''' on line [2,14]", 2, 14},
		{`"bad \q escape"`, "Query could not be parsed at 'q' on line [1,7]", 1, 7},
		{"T | take 10x", "Query could not be parsed at '10x' on line [1,10]", 1, 10},
		{"T | where A > 99999999999999999999", "Query could not be parsed at '99999999999999999999' on line [1,15]", 1, 15},
		{"T | where A > 999999999d", "Timespan literal '999999999d' is out of range on line [1,15]", 1, 15},
		{"T | where A > datetime(yesterday)", "Invalid datetime literal 'datetime(yesterday)' on line [1,15]", 1, 15},
		{"T | where A > datetime(2024-01-01", "Query could not be parsed at 'datetime(' on line [1,15]", 1, 15},
		{"T # x", "Query could not be parsed at '#' on line [1,3]", 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			_, err := tokenize(tt.input)
			var kerr *Error
			if !errors.As(err, &kerr) {
				t.Fatalf("tokenize(%q) error = %v, want *Error", tt.input, err)
			}
			if kerr.Message != tt.wantMessage || kerr.Line != tt.wantLine || kerr.Col != tt.wantCol {
				t.Errorf("tokenize(%q) = %q at %d:%d, want %q at %d:%d",
					tt.input, kerr.Message, kerr.Line, kerr.Col, tt.wantMessage, tt.wantLine, tt.wantCol)
			}
		})
	}
}
