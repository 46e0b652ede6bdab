package kql

import "time"

// Column type names, as Defender advanced hunting reports them.
const (
	TypeString   = "String"
	TypeDateTime = "DateTime"
	TypeInt64    = "Int64"
	TypeInt32    = "Int32"
	TypeDouble   = "Double"
	TypeBoolean  = "Boolean"
	TypeDynamic  = "Dynamic"

	// typeTimespan is the type of timespan literals; no column has it.
	typeTimespan = "TimeSpan"
)

// MaxResultRows caps the rows a query returns, like Defender's advanced
// hunting limit; longer results are truncated.
const MaxResultRows = 100_000

// Column describes one result or table column.
type Column struct {
	Name string
	Type string
}

// Result is a query result. Each row has one value per column: string,
// int64, int32, float64, bool, time.Time (UTC), nil, or map[string]any /
// []any for Dynamic columns.
type Result struct {
	Columns []Column
	Rows    [][]any
}

// kustoTypeName is the Kusto scalar type name used in error messages.
func kustoTypeName(typ string) string {
	switch typ {
	case TypeString:
		return "string"
	case TypeDateTime:
		return "datetime"
	case TypeInt64:
		return "long"
	case TypeInt32:
		return "int"
	case TypeDouble:
		return "real"
	case TypeBoolean:
		return "bool"
	case typeTimespan:
		return "timespan"
	}
	return "dynamic"
}

// typeFamily groups types whose values are mutually comparable.
func typeFamily(typ string) string {
	switch typ {
	case TypeInt64, TypeInt32, TypeDouble:
		return "number"
	}
	return typ
}

// literalType is the column type of a decoded literal value.
func literalType(v any) string {
	switch v.(type) {
	case string:
		return TypeString
	case int64:
		return TypeInt64
	case float64:
		return TypeDouble
	case bool:
		return TypeBoolean
	case time.Time:
		return TypeDateTime
	case time.Duration:
		return typeTimespan
	}
	return TypeDynamic
}

// RowObjects returns the rows keyed by column name, as the hunting APIs send
// them, with every time.Time value rendered by formatTime.
func (r *Result) RowObjects(formatTime func(time.Time) string) []map[string]any {
	out := make([]map[string]any, len(r.Rows))
	for i, row := range r.Rows {
		obj := make(map[string]any, len(r.Columns))
		for j, col := range r.Columns {
			var v any
			if j < len(row) {
				v = row[j]
			}
			if t, ok := v.(time.Time); ok {
				v = formatTime(t)
			}
			obj[col.Name] = v
		}
		out[i] = obj
	}
	return out
}
