package defender

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// huntingWire is both hunting responses: XDR {"Stats","Schema","Results"}
// and Graph {"schema","results"}. encoding/json matches keys
// case-insensitively, so schema|Schema, name|Name, type|Type and
// results|Results all decode.
type huntingWire struct {
	Stats  map[string]any `json:"stats"`
	Schema []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"schema"`
	Results []map[string]any `json:"results"`
}

// toDomain types every row value by its column's type. Numbers become
// float64: integers beyond 2^53 lose precision (JSON numbers are decoded as
// float64, as protobuf Struct values are). Values of unknown types, columns
// missing from the schema and values that do not fit their type are kept as
// decoded.
func (w *huntingWire) toDomain() *HuntingResult {
	res := &HuntingResult{
		Columns: make([]HuntingColumn, 0, len(w.Schema)),
		Rows:    make([]map[string]any, 0, len(w.Results)),
		Stats:   w.Stats,
	}
	types := make(map[string]string, len(w.Schema))
	for _, c := range w.Schema {
		res.Columns = append(res.Columns, HuntingColumn{Name: c.Name, Type: c.Type})
		types[c.Name] = c.Type
	}
	for _, row := range w.Results {
		out := make(map[string]any, len(row))
		for name, v := range row {
			out[name] = huntingValue(types[name], v)
		}
		res.Rows = append(res.Rows, out)
	}
	return res
}

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
