package kql

import (
	"cmp"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// compareValues orders two non-nil values of the same type family. ok is
// false when the values are not mutually comparable.
func compareValues(a, b any) (c int, ok bool) {
	switch x := a.(type) {
	case string:
		if y, isStr := b.(string); isStr {
			return strings.Compare(x, y), true
		}
	case time.Time:
		if y, isTime := b.(time.Time); isTime {
			return x.Compare(y), true
		}
	case time.Duration:
		if y, isDur := b.(time.Duration); isDur {
			return cmp.Compare(x, y), true
		}
	case bool:
		if y, isBool := b.(bool); isBool {
			return cmpBool(x, y), true
		}
	case int64, int32, float64:
		return compareNumbers(a, b)
	}
	return 0, false
}

func cmpBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case !x:
		return -1
	}
	return 1
}

// compareNumbers compares int64/int32/float64 values, exactly when both are
// integers.
func compareNumbers(a, b any) (int, bool) {
	ai, aInt := asInt64(a)
	bi, bInt := asInt64(b)
	if aInt && bInt {
		return cmp.Compare(ai, bi), true
	}
	af, aok := asFloat64(a)
	bf, bok := asFloat64(b)
	if !aok || !bok {
		return 0, false
	}
	return cmp.Compare(af, bf), true
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	}
	return 0, false
}

func asFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	}
	return 0, false
}

// compareForSort orders values for order by / top: nulls sort lowest, so
// they come first ascending and last descending, as in Kusto.
func compareForSort(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	c, _ := compareValues(a, b)
	return c
}

// formatValue renders a value as Kusto's tostring() would, for string
// operators applied to non-string columns.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.0000000Z")
	case time.Duration:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// hasTerm reports whether needle occurs in haystack as a whole term,
// case-insensitively when fold is set. Kusto terms are runs of
// alphanumeric characters, so the match must not be preceded or followed
// by an alphanumeric character (a needle edge that is itself
// non-alphanumeric needs no boundary). An empty needle matches.
func hasTerm(haystack, needle string, fold bool) bool {
	if needle == "" {
		return true
	}
	if fold {
		haystack, needle = strings.ToLower(haystack), strings.ToLower(needle)
	}
	first, _ := utf8.DecodeRuneInString(needle)
	last, _ := utf8.DecodeLastRuneInString(needle)
	for from := 0; from <= len(haystack)-len(needle); {
		i := strings.Index(haystack[from:], needle)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(needle)
		before, _ := utf8.DecodeLastRuneInString(haystack[:start])
		after, _ := utf8.DecodeRuneInString(haystack[end:])
		okStart := start == 0 || !isTermRune(first) || !isTermRune(before)
		okEnd := end == len(haystack) || !isTermRune(last) || !isTermRune(after)
		if okStart && okEnd {
			return true
		}
		_, width := utf8.DecodeRuneInString(haystack[start:])
		from = start + width
	}
	return false
}

func isTermRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// stringMatch applies a string operator (without its "!" or "_cs" affixes)
// to two strings.
func stringMatch(op, haystack, needle string, caseSensitive bool) bool {
	if op == "has" {
		return hasTerm(haystack, needle, !caseSensitive)
	}
	if !caseSensitive {
		haystack, needle = strings.ToLower(haystack), strings.ToLower(needle)
	}
	switch op {
	case "contains":
		return strings.Contains(haystack, needle)
	case "startswith":
		return strings.HasPrefix(haystack, needle)
	case "endswith":
		return strings.HasSuffix(haystack, needle)
	}
	return false
}
