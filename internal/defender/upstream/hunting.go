package upstream

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// huntingValue converts one decoded value by its column type.
func huntingValue(colType string, v any) any {
	if v == nil {
		return nil
	}
	switch strings.ToLower(colType) {
	case "datetime", "date":
		if s, ok := v.(string); ok {
			if t, ok := parseUpstreamTime(s); ok {
				return t.Format(time.RFC3339Nano)
			}
		}
	case "int", "int32", "int64", "long", "double", "real", "decimal", "float":
		if s, ok := v.(string); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f
			}
		}
	case "boolean", "bool":
		switch b := v.(type) {
		case string:
			if p, err := strconv.ParseBool(strings.TrimSpace(b)); err == nil {
				return p
			}
		case float64:
			if b == 0 || b == 1 {
				return b == 1
			}
		}
	}
	// Already float64, bool, string, or Dynamic JSON: as decoded.
	return v
}
