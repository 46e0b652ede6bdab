package odata

import (
	"strings"
	"time"
)

// Match reports whether e holds, asking compare for each comparison. A nil
// e matches everything.
func Match(e Expr, compare func(c *Comparison) bool) bool {
	switch x := e.(type) {
	case nil:
		return true
	case *And:
		return Match(x.Left, compare) && Match(x.Right, compare)
	case *Or:
		return Match(x.Left, compare) || Match(x.Right, compare)
	case *Not:
		return !Match(x.X, compare)
	case *Comparison:
		return compare(x)
	}
	return false
}

// CompareFold compares two strings case-insensitively (three-way).
func CompareFold(a, b string) int {
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// MatchString evaluates c against a string field value: string and enum
// literals compare case-insensitively; null matches the empty string
// (present reports whether the field has a value).
func MatchString(c *Comparison, value string, present bool) bool {
	if c.Value.Kind == KindNull {
		return c.Op.Holds(boolCompare(present))
	}
	if !present {
		return c.Op == Ne
	}
	return c.Op.Holds(CompareFold(value, c.Value.Text))
}

// MatchTime evaluates c against a datetime field value.
func MatchTime(c *Comparison, value time.Time) bool {
	return c.Op.Holds(value.Compare(c.Value.Time))
}

// boolCompare maps "has a value" to a three-way result against null: a
// present value is "not equal" to null.
func boolCompare(present bool) int {
	if present {
		return 1
	}
	return 0
}
