package upstream

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WireString decodes a JSON string or number (XDR ids are numbers, Graph
// ids strings) as text; null is "".
type WireString string

func (s *WireString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*s = ""
		return nil
	}
	if str, ok := plainString(b); ok {
		*s = WireString(str)
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*s = WireString(str)
		return nil
	}
	if isNumber(b) {
		*s = WireString(b)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = WireString(n.String())
	return nil
}

// WireTime decodes an upstream timestamp leniently: 0–7 (or more)
// fractional digits, with a zone or without one (then UTC). null, a
// non-string or an unparseable value is the zero time rather than an error,
// so one bad field does not fail a whole listing.
type WireTime struct{ time.Time }

func (t *WireTime) UnmarshalJSON(b []byte) error {
	s, ok := plainString(b)
	if !ok && json.Unmarshal(b, &s) != nil {
		t.Time = time.Time{}
		return nil
	}
	t.Time, _ = parseUpstreamTime(s)
	return nil
}

// parseUpstreamTime parses an upstream timestamp into UTC. Go's parser
// accepts any number of fractional digits after the seconds. A time outside
// the years 1 to 9999 in UTC (year 0, or an offset pushing the last day
// over) is refused: a protobuf Timestamp cannot carry it.
func parseUpstreamTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			if y := t.Year(); y < 1 || y > 9999 {
				return time.Time{}, false
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// WireInt32 decodes a JSON number into an int32, clamping out-of-range and
// ignoring a non-number (then 0).
type WireInt32 int32

func (n *WireInt32) UnmarshalJSON(b []byte) error {
	var f float64
	if isNumber(b) {
		var err error
		if f, err = strconv.ParseFloat(string(b), 64); err != nil {
			f = 0 // out of float64's range: encoding/json refuses it too
		}
	} else if json.Unmarshal(b, &f) != nil {
		*n = 0
		return nil
	}
	*n = WireInt32(math.Max(math.MinInt32, math.Min(math.MaxInt32, f)))
	return nil
}

// plainString returns the text of b when b is a JSON string that needs no
// decoding: quoted, with no escape, no control character and valid UTF-8.
// Anything else goes through encoding/json (escapes, and the replacement
// of invalid UTF-8 that it does).
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	for _, c := range inner {
		if c < 0x20 || c == '\\' || c == '"' {
			return "", false
		}
	}
	if !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

// isNumber reports whether b is a JSON number literal (RFC 8259 §6).
func isNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}
