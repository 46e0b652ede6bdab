package upstream

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// WireString decodes a JSON string or number (XDR ids are numbers, Graph
// ids strings) as text; null is "".
type WireString string

func (s *WireString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*s = ""
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*s = WireString(str)
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
	var s string
	if json.Unmarshal(b, &s) != nil {
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
	if json.Unmarshal(b, &f) != nil {
		*n = 0
		return nil
	}
	*n = WireInt32(math.Max(math.MinInt32, math.Min(math.MaxInt32, f)))
	return nil
}
