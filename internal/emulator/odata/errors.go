package odata

import "fmt"

// Error is a query option the emulator rejects.
type Error struct {
	// Option is the query option at fault, e.g. "$filter".
	Option string
	// Message says what is wrong.
	Message string
	// Pos is the 0-based byte offset in the option's value, or -1.
	Pos int
}

func (e *Error) Error() string {
	if e.Pos >= 0 {
		return fmt.Sprintf("Invalid %s: %s (at position %d).", e.Option, e.Message, e.Pos)
	}
	return fmt.Sprintf("Invalid %s: %s.", e.Option, e.Message)
}

func filterError(pos int, format string, args ...any) *Error {
	return &Error{Option: "$filter", Message: fmt.Sprintf(format, args...), Pos: pos}
}
