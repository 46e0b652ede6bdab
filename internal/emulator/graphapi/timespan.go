package graphapi

import (
	"fmt"
	"strings"
	"time"
)

// validateTimespan checks a runHuntingQuery Timespan (reference §7.5):
// "start/end", "duration/end", "start/duration", "duration" or "start",
// with ISO 8601 datetimes and durations. The emulator validates it but runs
// queries over all sample data.
func validateTimespan(s string) error {
	first, second, isRange := strings.Cut(s, "/")
	if !isRange {
		if isDuration(first) || isDateTime(first) {
			return nil
		}
		return fmt.Errorf("Invalid Timespan '%s': expected an ISO 8601 duration (P30D), a start time, or start/end, P30D/end, start/P30D.", s)
	}
	switch {
	case isDateTime(first) && isDateTime(second):
		start, _ := parseDateTime(first)
		end, _ := parseDateTime(second)
		if !start.Before(end) {
			return fmt.Errorf("Invalid Timespan '%s': the start must be before the end.", s)
		}
		return nil
	case isDuration(first) && isDateTime(second), isDateTime(first) && isDuration(second):
		return nil
	}
	return fmt.Errorf("Invalid Timespan '%s': expected start/end, P30D/end or start/P30D with ISO 8601 values.", s)
}

func isDateTime(s string) bool {
	_, ok := parseDateTime(s)
	return ok
}

func parseDateTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// isDuration reports whether s is an ISO 8601 duration such as P30D, PT12H
// or P1DT2H30M10.5S (at least one component, designators in order).
func isDuration(s string) bool {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return false
	}
	date, clock, hasTime := strings.Cut(rest, "T")
	if hasTime && clock == "" {
		return false
	}
	return components(date, "YMWD", false) && components(clock, "HMS", true)
}

// components checks a sequence of number+designator pairs whose designators
// appear in order within allowed; only the last may carry a fraction (S).
func components(s, allowed string, fractionalSeconds bool) bool {
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' && fractionalSeconds) {
			i++
		}
		if i == 0 || i == len(s) {
			return false
		}
		number, designator := s[:i], s[i]
		pos := strings.IndexByte(allowed, designator)
		if pos < 0 || strings.Count(number, ".") > 1 || number[0] == '.' || number[len(number)-1] == '.' ||
			(strings.Contains(number, ".") && designator != 'S') {
			return false
		}
		allowed, s = allowed[pos+1:], s[i+1:]
	}
	return true
}
