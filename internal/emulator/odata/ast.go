package odata

import "time"

// Expr is a parsed $filter expression: *And, *Or, *Not or *Comparison.
type Expr interface{ expr() }

// And is true when both sides are.
type And struct{ Left, Right Expr }

// Or is true when either side is.
type Or struct{ Left, Right Expr }

// Not negates X.
type Not struct{ X Expr }

// Comparison compares a field with a literal.
type Comparison struct {
	Field string // as declared in the Schema
	Op    Op
	Value Literal
}

func (*And) expr()        {}
func (*Or) expr()         {}
func (*Not) expr()        {}
func (*Comparison) expr() {}

// Op is a comparison operator.
type Op string

// Comparison operators.
const (
	Eq Op = "eq"
	Ne Op = "ne"
	Gt Op = "gt"
	Ge Op = "ge"
	Lt Op = "lt"
	Le Op = "le"
)

var operators = map[string]Op{"eq": Eq, "ne": Ne, "gt": Gt, "ge": Ge, "lt": Lt, "le": Le}

// Holds reports whether the operator is satisfied by a three-way comparison
// result (negative: field < literal, 0: equal, positive: field > literal).
func (op Op) Holds(cmp int) bool {
	switch op {
	case Eq:
		return cmp == 0
	case Ne:
		return cmp != 0
	case Gt:
		return cmp > 0
	case Ge:
		return cmp >= 0
	case Lt:
		return cmp < 0
	case Le:
		return cmp <= 0
	}
	return false
}

// Kind is a set of literal kinds.
type Kind uint8

// Literal kinds; combine with | in a [Field].
const (
	KindString   Kind = 1 << iota // 'quoted'
	KindEnum                      // bare identifier: Active
	KindDateTime                  // 2024-01-01T00:00:00Z
	KindNumber                    // 42, -1.5
	KindNull                      // null
	KindBoolean                   // true, false
)

func (k Kind) String() string {
	names := []string{"quoted string", "bare identifier", "datetime", "number", "null", "boolean"}
	out := ""
	for i, n := range names {
		if k&(1<<i) != 0 {
			if out != "" {
				out += " or "
			}
			out += n
		}
	}
	return out
}

// Literal is a filter value. Text is set for strings and enum members (the
// unescaped string, or the identifier) and is the source text otherwise.
type Literal struct {
	Kind   Kind
	Text   string
	Time   time.Time // KindDateTime, in UTC
	Number float64   // KindNumber
	Bool   bool      // KindBoolean
}

// Field describes a filterable field.
type Field struct {
	// Accepts is the set of literal kinds the field may be compared with.
	Accepts Kind
	// Ordered allows gt, ge, lt and le; otherwise only eq and ne.
	Ordered bool
	// Validate, if set, checks a literal (e.g. a known enum member) and
	// returns a message-bearing error for an invalid one.
	Validate func(Literal) error
}

// Schema maps field names (case-sensitive) to their descriptions.
type Schema map[string]Field
