package upstream

import (
	"testing"
	"time"
)

func TestParseUpstreamTime(t *testing.T) {
	base := time.Date(2024, 6, 3, 18, 4, 29, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2024-06-03T18:04:29Z", base, true},
		{"2024-06-03T18:04:29", base, true},
		{"2024-06-03T18:04:29.1Z", base.Add(100 * time.Millisecond), true},
		{"2024-06-03T18:04:29.1234567Z", base.Add(123456700), true},
		{"2024-06-03T18:04:29.1234567", base.Add(123456700), true},
		{"2024-06-03T20:04:29.5+02:00", base.Add(500 * time.Millisecond), true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		// Outside the range of a protobuf Timestamp, which no response
		// could carry (found by FuzzUpstreamJSON).
		{"0000-12-31T23:59:59Z", time.Time{}, false},
		{"0001-01-01T00:30:00+01:00", time.Time{}, false},
		{"9999-12-31T23:59:59-01:00", time.Time{}, false},
		{"0001-01-01T00:00:00Z", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"9999-12-31T23:59:59.9999999Z", time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.UTC), true},
	}
	for _, tt := range tests {
		got, ok := parseUpstreamTime(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) || (ok && got.Location() != time.UTC) {
			t.Errorf("parseUpstreamTime(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
