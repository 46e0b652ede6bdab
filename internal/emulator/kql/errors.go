package kql

import "fmt"

// Error is a query error the caller should report to the user: a syntax
// error, unsupported syntax, an unknown table or column, or a type error.
// Line and Col are 1-based and point at the offending token (0 when the error
// is not tied to a position).
type Error struct {
	Message string
	Line    int
	Col     int
}

// Error implements the error interface; it returns Message unchanged so the
// text matches what Defender would show.
func (e *Error) Error() string { return e.Message }

// pos is a 1-based line/column position in the query text.
type pos struct{ line, col int }

// errorAt builds an *Error positioned at p.
func errorAt(p pos, format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...), Line: p.line, Col: p.col}
}

// syntaxError reports that the query could not be parsed at the given text,
// in Kusto's wording.
func syntaxError(p pos, text string) *Error {
	return errorAt(p, "Query could not be parsed at '%s' on line [%d,%d]", text, p.line, p.col)
}

// unsupportedError reports a recognised Kusto construct the emulator does not
// implement; kind is e.g. "operator", "function" or "aggregation function".
func unsupportedError(p pos, name, kind string) *Error {
	return errorAt(p, "'%s' %s is not supported by the Defender Gateway emulator", name, kind)
}

// unresolvedError reports an unknown table or column, in Kusto's wording.
func unresolvedError(p pos, name string) *Error {
	return errorAt(p, "Failed to resolve table or column expression named '%s'", name)
}
