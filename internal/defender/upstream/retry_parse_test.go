package upstream

import (
	"testing"
	"time"
)

func TestParseQuotaWindow(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"API calls quota exceeded! maximum allowed 45 per 00:01:00", time.Minute},
		{"API calls quota exceeded! maximum allowed 1500 per 01:00:00", time.Hour},
		{"maximum allowed 100 PER 00:00:10.", 10 * time.Second},
		{"maximum allowed 5 per 24:00:00", time.Hour}, // clamped to maxRetryAfter
		{"maximum allowed 5 per 00:61:00", 0},         // not a time
		{"maximum allowed 5 per 1:2:3", 0},
		{"per 00:01", 0},
		{"quota", 0},
		{"", 0},
		{"per 00:00:00", 0},
		{"per 999999:00:00", 0},
	}
	for _, tt := range tests {
		if got := parseQuotaWindow(tt.in); got != tt.want {
			t.Errorf("parseQuotaWindow(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseQuotaWindow(f *testing.F) {
	f.Add("maximum allowed 45 per 00:01:00")
	f.Add("per 99:59:59")
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseQuotaWindow(s); d < 0 || d > maxRetryAfter {
			t.Fatalf("parseQuotaWindow(%q) = %v, outside [0, %v]", s, d, maxRetryAfter)
		}
	})
}

func TestIsCPUQuotaMessage(t *testing.T) {
	for in, want := range map[string]bool{
		"The query exceeded the allocated CPU resources quota": true,
		"You have exceeded your resources limit, try later":    true,
		"Query could not be parsed":                            false,
		"quota exceeded! maximum allowed 45 per 00:01:00":      false,
	} {
		if got := isCPUQuotaMessage(in); got != want {
			t.Errorf("isCPUQuotaMessage(%q) = %v, want %v", in, got, want)
		}
	}
}
