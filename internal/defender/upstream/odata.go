package upstream

import (
	"fmt"
	"strings"
	"time"
)

// ODataFilter builds a $filter expression: clauses joined with "and".
type ODataFilter struct {
	clauses []string
}

// Equals adds field eq 'value'.
func (f *ODataFilter) Equals(field, value string) {
	f.clauses = append(f.clauses, field+" eq "+odataString(value))
}

// EqualsAny adds (field eq 'a' or field eq 'b' ...); no clause for no
// values, no parentheses for one.
func (f *ODataFilter) EqualsAny(field string, values []string) {
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

// TimeRange adds field ge from and field lt before; a zero bound is open.
//
// Upstream times have 100 ns ticks, so a bound between two ticks is sent as
// the next tick up: for a time t on a tick, t >= from and t < before hold
// exactly when they hold for the rounded-up bounds (truncating instead
// would select an incident stamped on the tick just below the bound). A
// before bound past the last tick of year 9999 excludes nothing and is
// left out.
func (f *ODataFilter) TimeRange(field string, from, before time.Time) {
	if !from.IsZero() {
		// A from bound past the last tick can only be sent as the last tick.
		b := ceilTick(from)
		if b.After(lastTick) {
			b = lastTick
		}
		f.clauses = append(f.clauses, field+" ge "+odataDateTime(b))
	}
	if !before.IsZero() {
		if b := ceilTick(before); !b.After(lastTick) {
			f.clauses = append(f.clauses, field+" lt "+odataDateTime(b))
		}
	}
}

// lastTick is the latest time an RFC 3339 literal with 7 fractional digits
// can carry.
var lastTick = time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.UTC)

// ceilTick rounds t up to a multiple of 100 ns.
func ceilTick(t time.Time) time.Time {
	if r := t.Nanosecond() % 100; r != 0 {
		return t.Add(time.Duration(100 - r))
	}
	return t
}

// String returns the expression, "" when there is no clause.
func (f *ODataFilter) String() string { return strings.Join(f.clauses, " and ") }

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

// QueryParam is one query string parameter; order is kept.
type QueryParam struct{ Key, Value string }

// EncodeQuery encodes params for a URL's RawQuery. Unlike url.Values it
// writes a space as %20 (a + is not a space to every OData server) and
// leaves $ ' ( ) , : @ ! * / literal, so "$filter=status eq 'active'"
// becomes "$filter=status%20eq%20'active'". &, =, +, #, %, ; and every
// non-ASCII byte are percent-encoded.
func EncodeQuery(params []QueryParam) string {
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		escapeQueryComponent(&b, p.Key)
		b.WriteByte('=')
		escapeQueryComponent(&b, p.Value)
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
