package upstream

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Evidence objects are decoded as maps: the typed fields are taken out of
// them (take* delete what they return) and the non-null rest becomes
// Evidence.Details.

func LowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// TakeString returns the first non-empty scalar at one of the dotted paths
// ("fileDetails.fileName") and deletes it from its map.
func TakeString(m map[string]any, paths ...string) string {
	for _, p := range paths {
		parent, key := walk(m, p)
		if parent == nil {
			continue
		}
		if s := ScalarString(parent[key]); s != "" {
			delete(parent, key)
			return s
		}
	}
	return ""
}

// TakeInt64 returns the integer at path and deletes it; a value that is not
// an integer stays (and ends up in Details).
func TakeInt64(m map[string]any, path string) int64 {
	parent, key := walk(m, path)
	if parent == nil {
		return 0
	}
	var n int64
	switch v := parent[key].(type) {
	case float64:
		if v != math.Trunc(v) || v < math.MinInt64 || v >= math.MaxInt64 {
			return 0
		}
		n = int64(v)
	case string:
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0
		}
	default:
		return 0
	}
	delete(parent, key)
	return n
}

// walk returns the map holding the last key of a dotted path, nil when an
// intermediate value is not an object.
func walk(m map[string]any, path string) (map[string]any, string) {
	for {
		k, rest, nested := strings.Cut(path, ".") // no allocation, unlike Split: once per field of every evidence
		if !nested {
			return m, path
		}
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, ""
		}
		m, path = next, rest
	}
}

// ScalarString returns a string as is and a number or bool as text; ""
// for anything else.
func ScalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// TimeOf parses a timestamp held in a decoded map; zero when absent or bad.
func TimeOf(v any) time.Time {
	s, _ := v.(string)
	t, _ := parseUpstreamTime(s)
	return t
}

// CompactDetails drops null values and objects left empty, recursively;
// nil when nothing is left.
func CompactDetails(m map[string]any) map[string]any {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			if c := CompactDetails(v); c == nil {
				delete(m, k)
			}
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
