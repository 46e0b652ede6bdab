package kql

import (
	"context"
	"slices"
	"time"
)

// ctxCheckInterval is how many rows a stage processes between checks of
// the context.
const ctxCheckInterval = 1024

// step executes one compiled pipeline stage. Steps never modify their
// input rows; they return new slices or subslices.
type step func(ctx context.Context, rows [][]any) ([][]any, error)

// compiledStage is one type-checked pipeline stage: run is its batch form;
// filter (where), mapRow (project) and take >= 0 (take) are its row-by-row
// form, when it has one.
type compiledStage struct {
	run    step
	pos    pos
	name   string
	filter func(row []any) bool
	mapRow func(row []any) []any
	take   int64
	count  bool
}

// streams reports whether the stage can run one row at a time.
func (s compiledStage) streams() bool { return s.filter != nil || s.mapRow != nil || s.take >= 0 }

// compileStages type-checks every stage against the schema flowing
// through the pipeline before any row is touched, returning the stages and
// the final schema.
func compileStages(stages []stage, schema []Column, now time.Time) ([]compiledStage, []Column, error) {
	plan := make([]compiledStage, 0, len(stages))
	for _, st := range stages {
		var err error
		cs := compiledStage{pos: st.stagePos(), take: -1}
		switch st := st.(type) {
		case *whereStage:
			cs.name = "where"
			cs.run, cs.filter, err = compileWhere(st, schema, now)
		case *projectStage:
			cs.name = "project"
			cs.run, cs.mapRow, schema, err = compileProject(st, schema)
		case *takeStage:
			cs.name, cs.run, cs.take = "take", takeStep(st.count), st.count
		case *sortStage:
			cs.name = "order by"
			cs.run, err = compileSort(st.keys, schema)
		case *topStage:
			cs.name = "top"
			cs.run, err = compileTop(st, schema)
		case *summarizeStage:
			cs.name = "summarize"
			cs.run, schema, err = compileSummarize(st, schema)
		case *countStage:
			cs.name, cs.count = "count", true
			cs.run, schema = countStep, []Column{{Name: "Count", Type: TypeInt64}}
		default:
			err = errorAt(st.stagePos(), "unsupported pipeline stage %T", st)
		}
		if err != nil {
			return nil, nil, err
		}
		plan = append(plan, cs)
	}
	return plan, schema, nil
}

func compileWhere(st *whereStage, schema []Column, now time.Time) (step, func([]any) bool, error) {
	c := &exprCompiler{schema: schema, now: now}
	pred, err := c.compileBoolean(st.pred, "'where'")
	if err != nil {
		return nil, nil, err
	}
	filter := func(row []any) bool { return pred.eval(row) == true }
	return func(ctx context.Context, rows [][]any) ([][]any, error) {
		var out [][]any
		for i, row := range rows {
			if i%ctxCheckInterval == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			if filter(row) {
				out = append(out, row)
			}
		}
		return out, nil
	}, filter, nil
}

func compileProject(st *projectStage, schema []Column) (step, func([]any) []any, []Column, error) {
	indexes := make([]int, len(st.items))
	out := make([]Column, len(st.items))
	for i, item := range st.items {
		idx, err := columnIndex(schema, item.column)
		if err != nil {
			return nil, nil, nil, err
		}
		if slices.ContainsFunc(out[:i], func(c Column) bool { return c.Name == item.name }) {
			return nil, nil, nil, errorAt(item.column.pos, "A column named '%s' already exists in the projection (line [%d,%d])", item.name, item.column.pos.line, item.column.pos.col)
		}
		indexes[i] = idx
		out[i] = Column{Name: item.name, Type: schema[idx].Type}
	}
	mapRow := func(row []any) []any {
		newRow := make([]any, len(indexes))
		for j, idx := range indexes {
			newRow[j] = row[idx]
		}
		return newRow
	}
	return func(ctx context.Context, rows [][]any) ([][]any, error) {
		projected := make([][]any, len(rows))
		for i, row := range rows {
			if i%ctxCheckInterval == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			projected[i] = mapRow(row)
		}
		return projected, nil
	}, mapRow, out, nil
}

func takeStep(n int64) step {
	return func(_ context.Context, rows [][]any) ([][]any, error) {
		if n < int64(len(rows)) {
			return rows[:n], nil
		}
		return rows, nil
	}
}

func countStep(_ context.Context, rows [][]any) ([][]any, error) {
	return [][]any{{int64(len(rows))}}, nil
}

// boundKey is a sort key resolved to a column index.
type boundKey struct {
	index int
	desc  bool
}

func bindSortKeys(keys []sortKey, schema []Column) ([]boundKey, error) {
	bound := make([]boundKey, len(keys))
	for i, key := range keys {
		idx, err := columnIndex(schema, key.column)
		if err != nil {
			return nil, err
		}
		if schema[idx].Type == TypeDynamic {
			p := key.column.pos
			return nil, errorAt(p, "Cannot sort by dynamic column '%s' (line [%d,%d])", key.column.name, p.line, p.col)
		}
		bound[i] = boundKey{index: idx, desc: key.desc}
	}
	return bound, nil
}

func compileSort(keys []sortKey, schema []Column) (step, error) {
	bound, err := bindSortKeys(keys, schema)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, rows [][]any) ([][]any, error) {
		sorted := slices.Clone(rows)
		slices.SortStableFunc(sorted, func(a, b []any) int {
			for _, key := range bound {
				c := compareForSort(a[key.index], b[key.index])
				if key.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
		return sorted, ctx.Err()
	}, nil
}

func compileTop(st *topStage, schema []Column) (step, error) {
	sortRows, err := compileSort([]sortKey{st.key}, schema)
	if err != nil {
		return nil, err
	}
	take := takeStep(st.count)
	return func(ctx context.Context, rows [][]any) ([][]any, error) {
		sorted, err := sortRows(ctx, rows)
		if err != nil {
			return nil, err
		}
		return take(ctx, sorted)
	}, nil
}
