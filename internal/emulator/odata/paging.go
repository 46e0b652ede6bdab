package odata

import (
	"fmt"
	"net/url"
	"strconv"
)

// ParseTop parses a $top value. An empty raw gives def; a value above max
// is rejected with the message Microsoft Graph uses.
func ParseTop(raw string, def, max int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := parseCount(raw)
	if err != nil {
		return 0, &Error{Option: "$top", Message: err.Error(), Pos: -1}
	}
	if n > max {
		return 0, &TopLimitError{Limit: max, Requested: n}
	}
	return n, nil
}

// ParseSkip parses a $skip value; an empty raw gives 0.
func ParseSkip(raw string) (int, error) {
	if raw == "" {
		return 0, nil
	}
	n, err := parseCount(raw)
	if err != nil {
		return 0, &Error{Option: "$skip", Message: err.Error(), Pos: -1}
	}
	return n, nil
}

// TopLimitError is a $top above the service's maximum page size.
type TopLimitError struct{ Limit, Requested int }

func (e *TopLimitError) Error() string {
	return fmt.Sprintf("The limit of '%d' for Top query has been exceeded. The value from the incoming request is '%d'.", e.Limit, e.Requested)
}

func parseCount(raw string) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a non-negative integer", raw)
	}
	return n, nil
}

// ParsePaging reads $top and $skip from q. Unlike [ParseTop] and
// [ParseSkip], it rejects an option that is present but empty ("$top=").
func ParsePaging(q url.Values, defaultTop, maxTop int) (top, skip int, err error) {
	for _, option := range []string{"$top", "$skip"} {
		if q.Has(option) && q.Get(option) == "" {
			return 0, 0, &Error{Option: option, Message: "the value is empty", Pos: -1}
		}
	}
	if top, err = ParseTop(q.Get("$top"), defaultTop, maxTop); err != nil {
		return 0, 0, err
	}
	if skip, err = ParseSkip(q.Get("$skip")); err != nil {
		return 0, 0, err
	}
	return top, skip, nil
}
