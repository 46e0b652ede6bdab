package service

import (
	"strings"
	"time"
)

// timespanUsage describes the forms checkTimespan accepts.
const timespanUsage = "must be an ISO 8601 duration (P30D, PT12H), a start time (2024-01-01T00:00:00Z), " +
	"or start/end, duration/end or start/duration of those"

// checkTimespan checks a hunting timespan against the forms Graph's
// runHuntingQuery documents (reference §7.5), before any token is fetched
// or quota spent: "" (the upstream's default of 30 days), a duration, a
// start time, or two of them joined by "/" as start/end, duration/end or
// start/duration. Times are RFC 3339 (an ISO 8601 profile) with a zone;
// start must be before end.
func checkTimespan(s string) error {
	if s == "" {
		return nil
	}
	first, second, isRange := strings.Cut(s, "/")
	if !isRange {
		if isISODuration(first) || isDateTime(first) {
			return nil
		}
		return fieldError("timespan", timespanUsage)
	}
	switch {
	case isDateTime(first) && isDateTime(second):
		start, _ := time.Parse(time.RFC3339Nano, first)
		end, _ := time.Parse(time.RFC3339Nano, second)
		if !start.Before(end) {
			return fieldError("timespan", "the start must be before the end")
		}
		return nil
	case isISODuration(first) && isDateTime(second), isDateTime(first) && isISODuration(second):
		return nil
	}
	return fieldError("timespan", timespanUsage)
}

// isDateTime reports whether s is an RFC 3339 date and time with a zone,
// such as 2024-01-01T00:00:00Z or 2024-01-01T02:00:00.5+02:00.
func isDateTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// isISODuration reports whether s is an ISO 8601 duration in the
// designator form: P, then date components nY nM nD in this order, then
// optionally T and time components nH nM nS in this order, at least one
// component in all (and one after T). Weeks (nW) stand alone, as ISO 8601
// has it. Only seconds, the smallest unit, may have a fraction (".5" or
// ",5"). Designators are upper case; no sign, no spaces.
func isISODuration(s string) bool {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return false
	}
	if weeks, ok := strings.CutSuffix(rest, "W"); ok {
		return isDigits(weeks)
	}
	date, clock, hasTime := strings.Cut(rest, "T")
	if hasTime && clock == "" {
		return false
	}
	return durationComponents(date, "YMD", false) && durationComponents(clock, "HMS", true)
}

// durationComponents checks a run of number+designator pairs whose
// designators appear in the order of allowed, each at most once; with
// fractionalSeconds, an S component may have a fraction.
func durationComponents(s, allowed string, fractionalSeconds bool) bool {
	for s != "" {
		i := 0
		for i < len(s) && (isDigit(s[i]) || s[i] == '.' || s[i] == ',') {
			i++
		}
		if i == 0 || i == len(s) {
			return false
		}
		number, designator := s[:i], s[i]
		pos := strings.IndexByte(allowed, designator)
		if pos < 0 || !validDurationNumber(number, fractionalSeconds && designator == 'S') {
			return false
		}
		allowed, s = allowed[pos+1:], s[i+1:]
	}
	return true
}

// validDurationNumber accepts digits, or with fraction digits[.,]digits.
func validDurationNumber(n string, fraction bool) bool {
	whole, frac, hasFrac := strings.Cut(n, ".")
	if !hasFrac {
		whole, frac, hasFrac = strings.Cut(n, ",")
	}
	if !hasFrac {
		return isDigits(n)
	}
	return fraction && isDigits(whole) && isDigits(frac)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
