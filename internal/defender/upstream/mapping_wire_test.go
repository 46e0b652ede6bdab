package upstream

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// The wire types' reference semantics: encoding/json all the way, as they
// were before their fast paths.
func refWireString(b []byte) (WireString, error) {
	if bytes.Equal(b, []byte("null")) {
		return "", nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		return WireString(str), nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return "", err
	}
	return WireString(n.String()), nil
}

func refWireTime(b []byte) time.Time {
	var s string
	if json.Unmarshal(b, &s) != nil {
		return time.Time{}
	}
	t, _ := parseUpstreamTime(s)
	return t
}

func refWireInt32(b []byte) WireInt32 {
	var f float64
	if json.Unmarshal(b, &f) != nil {
		return 0
	}
	return WireInt32(math.Max(math.MinInt32, math.Min(math.MaxInt32, f)))
}

// checkWireTypes fails t if a wire type decodes b other than its reference.
func checkWireTypes(t *testing.T, b []byte) {
	t.Helper()
	var s WireString
	err := s.UnmarshalJSON(b)
	want, wantErr := refWireString(b)
	if s != want || (err == nil) != (wantErr == nil) {
		t.Errorf("WireString(%q) = %q, %v; want %q, %v", b, s, err, want, wantErr)
	}
	var tm WireTime
	if err := tm.UnmarshalJSON(b); err != nil || !tm.Time.Equal(refWireTime(b)) {
		t.Errorf("WireTime(%q) = %v, %v; want %v", b, tm.Time, err, refWireTime(b))
	}
	var n WireInt32
	if err := n.UnmarshalJSON(b); err != nil || n != refWireInt32(b) {
		t.Errorf("WireInt32(%q) = %d, %v; want %d", b, n, err, refWireInt32(b))
	}
}

var wireSamples = []string{
	`null`, `true`, `{}`, `[]`, `""`, `"a"`, `"1000"`, `"o'brien"`, `"\u00e9t\u00e9"`, `"a\/b"`, `"tab\there"`,
	"\"\xff\xfe\"", "\"caf\xc3\xa9\"", "\"ctl\x01\"", `"2026-12-04T18:29:13.1234567Z"`, `"2026-12-04T18:29:13"`,
	`"2026-12-04 18:29:13+02:00"`, `"0000-01-01T00:00:00Z"`, `"not a time"`,
	`0`, `-0`, `12`, `-12`, `1.5`, `-0.5e3`, `1E+2`, `2147483648`, `-2147483649`, `1e400`, `-1e400`, `01`, `1.`, `.5`, `-`, `1e`,
	`"12"`, ` 12`, `12 `, `"`, ``,
}

// TestWireTypesMatchEncodingJSON: the fast paths decode every sample as
// encoding/json did.
func TestWireTypesMatchEncodingJSON(t *testing.T) {
	for _, b := range wireSamples {
		checkWireTypes(t, []byte(b))
	}
}

func FuzzWireTypes(f *testing.F) {
	for _, b := range wireSamples {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkWireTypes(t, b) })
}
