package defender

import (
	"fmt"
	"strings"
	"time"
)

// odataFilter builds a $filter expression: clauses joined with "and".
type odataFilter struct {
	clauses []string
}

// equals adds field eq 'value'.
func (f *odataFilter) equals(field, value string) {
	f.clauses = append(f.clauses, field+" eq "+odataString(value))
}

// equalsAny adds (field eq 'a' or field eq 'b' ...); no clause for no
// values, no parentheses for one.
func (f *odataFilter) equalsAny(field string, values []string) {
	terms := make([]string, len(values))
	for i, v := range values {
		terms[i] = field + " eq " + odataString(v)
	}
	switch len(terms) {
	case 0:
	case 1:
		f.clauses = append(f.clauses, terms[0])
	default:
		f.clauses = append(f.clauses, "("+strings.Join(terms, " or ")+")")
	}
}

// timeRange adds field ge from and field lt before; a zero bound is open.
func (f *odataFilter) timeRange(field string, from, before time.Time) {
	if !from.IsZero() {
		f.clauses = append(f.clauses, field+" ge "+odataDateTime(from))
	}
	if !before.IsZero() {
		f.clauses = append(f.clauses, field+" lt "+odataDateTime(before))
	}
}

// String returns the expression, "" when there is no clause.
func (f *odataFilter) String() string { return strings.Join(f.clauses, " and ") }

// odataString quotes s as an OData string literal: single quotes, an
// embedded ' doubled.
func odataString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// odataDateTime formats t as an unquoted RFC 3339 UTC literal with
// fractional seconds only when non-zero, at most 7 digits (100 ns, the
// upstream precision; finer digits are truncated).
func odataDateTime(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	if ticks := t.Nanosecond() / 100; ticks != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%07d", ticks), "0")
	}
	return s + "Z"
}

// queryParam is one query string parameter; order is kept.
type queryParam struct{ key, value string }

// encodeQuery encodes params for a URL's RawQuery. Unlike url.Values it
// writes a space as %20 (a + is not a space to every OData server) and
// leaves $ ' ( ) , : @ ! * / literal, so "$filter=status eq 'active'"
// becomes "$filter=status%20eq%20'active'". &, =, +, #, %, ; and every
// non-ASCII byte are percent-encoded.
func encodeQuery(params []queryParam) string {
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		escapeQueryComponent(&b, p.key)
		b.WriteByte('=')
		escapeQueryComponent(&b, p.value)
	}
	return b.String()
}

func escapeQueryComponent(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isQueryLiteral(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

func isQueryLiteral(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~$'(),:@!*/", c) >= 0
}
