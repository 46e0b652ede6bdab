package kql

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// compileSummarize builds "summarize [Name =] count() [by ...]". Output
// columns are the by columns followed by the count; groups appear in order
// of first occurrence.
func compileSummarize(st *summarizeStage, schema []Column) (step, []Column, error) {
	indexes := make([]int, len(st.by))
	out := make([]Column, 0, len(st.by)+1)
	for i, ref := range st.by {
		idx, err := columnIndex(schema, ref)
		if err != nil {
			return nil, nil, err
		}
		if slices.ContainsFunc(out, func(c Column) bool { return c.Name == ref.name }) {
			return nil, nil, errorAt(ref.pos, "Column '%s' appears more than once in 'by' (line [%d,%d])", ref.name, ref.pos.line, ref.pos.col)
		}
		indexes[i] = idx
		out = append(out, schema[idx])
	}
	if st.hasCount {
		if slices.ContainsFunc(out, func(c Column) bool { return c.Name == st.countName }) {
			p := st.countPos
			return nil, nil, errorAt(p, "A column named '%s' already exists (line [%d,%d])", st.countName, p.line, p.col)
		}
		out = append(out, Column{Name: st.countName, Type: TypeInt64})
	}
	hasCount := st.hasCount
	return func(ctx context.Context, rows [][]any) ([][]any, error) {
		groups := map[string]int{}
		var result [][]any
		var counts []int64
		var key strings.Builder
		for i, row := range rows {
			if i%ctxCheckInterval == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			key.Reset()
			for _, idx := range indexes {
				writeGroupKey(&key, row[idx])
			}
			g, seen := groups[key.String()]
			if !seen {
				g = len(result)
				groups[key.String()] = g
				group := make([]any, 0, len(out))
				for _, idx := range indexes {
					group = append(group, row[idx])
				}
				result = append(result, group)
				counts = append(counts, 0)
			}
			counts[g]++
		}
		if len(indexes) == 0 && len(result) == 0 {
			// summarize count() over no rows still yields one row of 0.
			result, counts = [][]any{{}}, []int64{0}
		}
		if hasCount {
			for g := range result {
				result[g] = append(result[g], counts[g])
			}
		}
		return result, nil
	}, out, nil
}

// writeGroupKey appends an unambiguous encoding of v to a group key.
func writeGroupKey(sb *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		sb.WriteString("n;")
	case string:
		sb.WriteString("s" + strconv.Quote(x) + ";")
	case time.Time:
		sb.WriteString("t" + x.UTC().Format(time.RFC3339Nano) + ";")
	default:
		fmt.Fprintf(sb, "%T:%v;", x, x)
	}
}
