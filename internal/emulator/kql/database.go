package kql

import (
	"context"
	"slices"
	"time"
)

// table is a schema and either rows of values matching it (in memory) or
// gen, which produces the rows by index when a query reads them.
type table struct {
	columns []Column
	rows    [][]any
	gen     rowSource
}

// rowSource generates a table's rows by index. row(i) is a pure function of
// i and returns a new slice on each call.
type rowSource interface {
	len() int
	row(i int) []any
}

// Database is a read-only set of tables. It is safe for concurrent use by
// multiple goroutines.
type Database struct {
	tables  map[string]*table
	now     time.Time
	maxRows int
}

// Tables lists the table names in sorted order.
func (db *Database) Tables() []string {
	names := make([]string, 0, len(db.tables))
	for name := range db.tables {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Schema returns a copy of a table's columns, or false if there is no such
// table. Table names are case-sensitive, as in Kusto.
func (db *Database) Schema(name string) ([]Column, bool) {
	t, ok := db.tables[name]
	if !ok {
		return nil, false
	}
	return slices.Clone(t.columns), true
}

// Run parses, type-checks and evaluates a query. Query problems are returned
// as *Error; a canceled or expired ctx returns ctx's error. ago() and now()
// are relative to the database's now, the instant its sample data ends.
func (db *Database) Run(ctx context.Context, text string) (*Result, error) {
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
	if src.gen != nil {
		s, err := db.Stream(ctx, text)
		if err != nil {
			return nil, err
		}
		return collect(s)
	}
	plan, schema, err := compileStages(q.stages, src.columns, db.now)
	if err != nil {
		return nil, err
	}
	rows := src.rows
	for _, st := range plan {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if rows, err = st.run(ctx, rows); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := db.maxRows
	if limit <= 0 || limit > MaxResultRows {
		limit = MaxResultRows
	}
	out := make([][]any, min(len(rows), limit))
	for i := range out {
		out[i] = slices.Clone(rows[i])
	}
	return &Result{Columns: slices.Clone(schema), Rows: out}, nil
}
