package kql

import (
	"context"
	"slices"
)

// MaxMaterializedRows bounds the rows of a generated table (DeviceEvents)
// that the emulator holds in memory for an operator that needs all its
// input at once (order by, top, summarize). Beyond it the query fails with
// MaterializeLimitMessage; where, project, take and count stream instead.
const MaxMaterializedRows = MaxResultRows

// MaterializeLimitMessage is the format (operator name, row limit) of the
// *Error a query gets when more than MaxMaterializedRows generated rows
// reach an order by, top or summarize. The emulator's own limit, not
// Defender's: filter with where or take first.
const MaterializeLimitMessage = "The Defender Gateway emulator holds at most %d rows for '%s'; narrow the query with where or take first"

// Stream is a query result read row by row. Rows of generated tables are
// produced as they are read, so a long result is never held in memory. A
// Stream is not safe for concurrent use.
type Stream struct {
	ctx     context.Context
	columns []Column
	next    func() ([]any, bool, error)
	row     []any
	err     error
	done    bool
}

// Columns returns the result's schema.
func (s *Stream) Columns() []Column { return slices.Clone(s.columns) }

// Next advances to the next row and reports whether there is one. It
// returns false at the end of the result, after MaxResultRows rows (the
// result is truncated silently, as in Defender) or on an error (see Err).
func (s *Stream) Next() bool {
	if s.done {
		return false
	}
	row, ok, err := s.next()
	if err != nil || !ok {
		s.err, s.done, s.row = err, true, nil
		return false
	}
	s.row = row
	return true
}

// Row returns the current row: one value per column, typed as in Result.
// The slice is valid until the next call to Next and must not be modified.
func (s *Stream) Row() []any { return s.row }

// Err returns the error that stopped the stream: ctx's error when it was
// canceled or expired, or an *Error (MaterializeLimitMessage).
func (s *Stream) Err() error { return s.err }

// Stream parses, type-checks and starts a query. Query problems are
// returned as *Error before any row, as Run returns them. ctx is checked
// while the rows are read: a canceled ctx stops the stream (Err returns
// ctx's error).
func (db *Database) Stream(ctx context.Context, text string) (*Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q, err := parse(text)
	if err != nil {
		return nil, err
	}
	src, ok := db.tables[q.table]
	if !ok {
		return nil, unresolvedError(q.pos, q.table)
	}
	stages, schema, err := compileStages(q.stages, src.columns, db.now)
	if err != nil {
		return nil, err
	}
	limit := db.maxRows
	if limit <= 0 || limit > MaxResultRows {
		limit = MaxResultRows
	}
	var rows func() ([]any, bool, error)
	if src.gen == nil {
		// Sample tables in memory are small: evaluate as Run does.
		out := src.rows
		for _, st := range stages {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if out, err = st.run(ctx, out); err != nil {
				return nil, err
			}
		}
		rows = sliceRows(out)
	} else {
		rows = streamStages(ctx, src.gen, stages)
	}
	s := &Stream{ctx: ctx, columns: schema}
	n := 0
	s.next = func() ([]any, bool, error) {
		if n >= limit {
			return nil, false, nil
		}
		row, ok, err := rows()
		if ok {
			n++
		}
		return row, ok, err
	}
	return s, nil
}

func sliceRows(rows [][]any) func() ([]any, bool, error) {
	i := 0
	return func() ([]any, bool, error) {
		if i >= len(rows) {
			return nil, false, nil
		}
		i++
		return rows[i-1], true, nil
	}
}

// streamStages reads a generated table through stages: the leading where,
// project and take stages (and a count) run row by row; the first stage
// that needs all its input (order by, top, summarize) gets the rows so far,
// at most MaxMaterializedRows of them, and the remaining stages run on its
// output in memory.
func streamStages(ctx context.Context, gen rowSource, stages []compiledStage) func() ([]any, bool, error) {
	i, n := 0, gen.len()
	var taken []int64 // rows passed per take stage
	prefix := 0
	for prefix < len(stages) && stages[prefix].streams() {
		prefix++
	}
	taken = make([]int64, prefix)
	// pull returns the next row out of the streaming prefix.
	pull := func() ([]any, bool, error) {
	rows:
		for i < n {
			if i%ctxCheckInterval == 0 {
				if err := ctx.Err(); err != nil {
					return nil, false, err
				}
			}
			row := gen.row(i)
			i++
			for k, st := range stages[:prefix] {
				switch {
				case st.filter != nil:
					if !st.filter(row) {
						continue rows
					}
				case st.mapRow != nil:
					row = st.mapRow(row)
				case st.take >= 0:
					if taken[k] >= st.take {
						i = n // every later row is cut too
						return nil, false, nil
					}
					taken[k]++
				}
			}
			return row, true, nil
		}
		return nil, false, ctx.Err()
	}
	if prefix == len(stages) {
		return pull
	}
	// Materialize the prefix's output for the rest of the pipeline, on the
	// first read.
	var out func() ([]any, bool, error)
	return func() ([]any, bool, error) {
		if out != nil {
			return out()
		}
		var rows [][]any
		if stages[prefix].count {
			var c int64
			for {
				_, ok, err := pull()
				if err != nil {
					return nil, false, err
				}
				if !ok {
					break
				}
				c++
			}
			rows = [][]any{{c}}
			prefix++
		} else {
			for {
				row, ok, err := pull()
				if err != nil {
					return nil, false, err
				}
				if !ok {
					break
				}
				if len(rows) == MaxMaterializedRows {
					st := stages[prefix]
					return nil, false, errorAt(st.pos, MaterializeLimitMessage, MaxMaterializedRows, st.name)
				}
				rows = append(rows, row)
			}
		}
		for _, st := range stages[prefix:] {
			if err := ctx.Err(); err != nil {
				return nil, false, err
			}
			var err error
			if rows, err = st.run(ctx, rows); err != nil {
				return nil, false, err
			}
		}
		out = sliceRows(rows)
		return out()
	}
}

// collect reads a whole stream into a Result, for Run.
func collect(s *Stream) (*Result, error) {
	var rows [][]any
	for s.Next() {
		rows = append(rows, slices.Clone(s.Row()))
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return &Result{Columns: s.Columns(), Rows: rows}, nil
}
