package kql

import (
	"strings"
	"time"
)

// compiled is a type-checked expression ready to evaluate against a row.
// Predicates evaluate to true, false or nil (Kusto's null).
type compiled struct {
	typ      string
	constant bool
	eval     func(row []any) any
}

// exprCompiler type-checks expressions against a schema and binds them to
// column indexes. now anchors ago() and now().
type exprCompiler struct {
	schema []Column
	now    time.Time
}

func constant(v any) compiled {
	return compiled{typ: literalType(v), constant: true, eval: func([]any) any { return v }}
}

func (c *exprCompiler) compile(e expr) (compiled, error) {
	switch e := e.(type) {
	case *literal:
		return constant(e.value), nil
	case *colRef:
		idx, err := columnIndex(c.schema, *e)
		if err != nil {
			return compiled{}, err
		}
		return compiled{typ: c.schema[idx].Type, eval: func(row []any) any { return row[idx] }}, nil
	case *callExpr:
		return c.compileCall(e)
	case *notExpr:
		return c.compileNot(e)
	case *logicalExpr:
		return c.compileLogical(e)
	case *binaryExpr:
		if stringOps[e.op] {
			return c.compileStringOp(e)
		}
		return c.compileComparison(e)
	case *inExpr:
		return c.compileIn(e)
	}
	return compiled{}, errorAt(e.exprPos(), "unsupported expression")
}

// columnIndex resolves a column reference in schema.
func columnIndex(schema []Column, ref colRef) (int, error) {
	for i, col := range schema {
		if col.Name == ref.name {
			return i, nil
		}
	}
	return 0, unresolvedError(ref.pos, ref.name)
}

func (c *exprCompiler) compileCall(e *callExpr) (compiled, error) {
	var offset time.Duration
	switch {
	case len(e.args) == 1:
		arg, ok := e.args[0].(*literal)
		if !ok || arg.typ != typeTimespan {
			return compiled{}, errorAt(e.pos, "%s() expects a timespan literal such as 7d (line [%d,%d])", e.name, e.pos.line, e.pos.col)
		}
		offset = arg.value.(time.Duration)
	case len(e.args) > 1, e.name == "ago":
		return compiled{}, errorAt(e.pos, "%s() expects exactly one timespan argument (line [%d,%d])", e.name, e.pos.line, e.pos.col)
	}
	if e.name == "ago" {
		return constant(c.now.Add(-offset)), nil
	}
	return constant(c.now.Add(offset)), nil
}

func (c *exprCompiler) compileBoolean(e expr, context string) (compiled, error) {
	x, err := c.compile(e)
	if err != nil {
		return compiled{}, err
	}
	if x.typ != TypeBoolean {
		p := e.exprPos()
		return compiled{}, errorAt(p, "%s expects a bool expression, got %s (line [%d,%d])", context, kustoTypeName(x.typ), p.line, p.col)
	}
	return x, nil
}

func (c *exprCompiler) compileNot(e *notExpr) (compiled, error) {
	arg, err := c.compileBoolean(e.arg, "not()")
	if err != nil {
		return compiled{}, err
	}
	return compiled{typ: TypeBoolean, eval: func(row []any) any {
		if b, ok := arg.eval(row).(bool); ok {
			return !b
		}
		return nil
	}}, nil
}

// compileLogical implements Kusto's three-valued and/or.
func (c *exprCompiler) compileLogical(e *logicalExpr) (compiled, error) {
	left, err := c.compileBoolean(e.left, "'"+e.op+"'")
	if err != nil {
		return compiled{}, err
	}
	right, err := c.compileBoolean(e.right, "'"+e.op+"'")
	if err != nil {
		return compiled{}, err
	}
	decisive := e.op == "or" // the value that short-circuits
	return compiled{typ: TypeBoolean, eval: func(row []any) any {
		l := left.eval(row)
		if l == decisive {
			return decisive
		}
		r := right.eval(row)
		if r == decisive {
			return decisive
		}
		if l == nil || r == nil {
			return nil
		}
		return !decisive
	}}, nil
}

func (c *exprCompiler) compileComparison(e *binaryExpr) (compiled, error) {
	left, err := c.compile(e.left)
	if err != nil {
		return compiled{}, err
	}
	right, err := c.compile(e.right)
	if err != nil {
		return compiled{}, err
	}
	if err := checkComparable(e.pos, e.op, left.typ, right.typ); err != nil {
		return compiled{}, err
	}
	if e.op == "=~" || e.op == "!~" {
		want := e.op == "=~"
		return compiled{typ: TypeBoolean, eval: func(row []any) any {
			l, lok := left.eval(row).(string)
			r, rok := right.eval(row).(string)
			if !lok || !rok {
				return nil
			}
			return strings.EqualFold(l, r) == want
		}}, nil
	}
	test := comparisonTest(e.op)
	return compiled{typ: TypeBoolean, eval: func(row []any) any {
		l, r := left.eval(row), right.eval(row)
		if l == nil || r == nil {
			return nil
		}
		c, ok := compareValues(l, r)
		if !ok {
			return nil
		}
		return test(c)
	}}, nil
}

// checkComparable enforces Kusto's typing of comparison operators.
func checkComparable(at pos, op, left, right string) error {
	if op == "=~" || op == "!~" {
		if left != TypeString || right != TypeString {
			return errorAt(at, "Operator '%s' expects string operands, got %s and %s (line [%d,%d])", op, kustoTypeName(left), kustoTypeName(right), at.line, at.col)
		}
		return nil
	}
	if left == TypeDynamic || right == TypeDynamic || typeFamily(left) != typeFamily(right) {
		return errorAt(at, "Cannot compare values of types %s and %s. Try adding explicit casts (line [%d,%d])", kustoTypeName(left), kustoTypeName(right), at.line, at.col)
	}
	if left == TypeBoolean && op != "==" && op != "!=" {
		return errorAt(at, "Operator '%s' is not defined for bool operands (line [%d,%d])", op, at.line, at.col)
	}
	return nil
}

func comparisonTest(op string) func(int) bool {
	switch op {
	case "==":
		return func(c int) bool { return c == 0 }
	case "!=":
		return func(c int) bool { return c != 0 }
	case "<":
		return func(c int) bool { return c < 0 }
	case "<=":
		return func(c int) bool { return c <= 0 }
	case ">":
		return func(c int) bool { return c > 0 }
	}
	return func(c int) bool { return c >= 0 }
}

func (c *exprCompiler) compileStringOp(e *binaryExpr) (compiled, error) {
	left, err := c.compile(e.left)
	if err != nil {
		return compiled{}, err
	}
	right, err := c.compile(e.right)
	if err != nil {
		return compiled{}, err
	}
	if right.typ != TypeString || left.typ == TypeDynamic {
		return compiled{}, errorAt(e.pos, "Operator '%s' expects string operands, got %s and %s (line [%d,%d])", e.op, kustoTypeName(left.typ), kustoTypeName(right.typ), e.pos.line, e.pos.col)
	}
	base := strings.TrimPrefix(e.op, "!")
	negated := base != e.op
	base, caseSensitive := strings.CutSuffix(base, "_cs")
	return compiled{typ: TypeBoolean, eval: func(row []any) any {
		needle, ok := right.eval(row).(string)
		if !ok {
			return nil
		}
		return stringMatch(base, formatValue(left.eval(row)), needle, caseSensitive) != negated
	}}, nil
}

func (c *exprCompiler) compileIn(e *inExpr) (compiled, error) {
	left, err := c.compile(e.left)
	if err != nil {
		return compiled{}, err
	}
	op := map[[2]bool]string{{false, false}: "in", {true, false}: "!in", {false, true}: "in~", {true, true}: "!in~"}[[2]bool{e.negated, e.caseInsensitive}]
	values := make([]any, 0, len(e.list))
	for _, item := range e.list {
		x, err := c.compile(item)
		if err != nil {
			return compiled{}, err
		}
		p := item.exprPos()
		if !x.constant {
			return compiled{}, errorAt(p, "The list of '%s' must contain only constants (line [%d,%d])", op, p.line, p.col)
		}
		if e.caseInsensitive && (left.typ != TypeString || x.typ != TypeString) {
			return compiled{}, errorAt(p, "Operator '%s' expects string operands, got %s and %s (line [%d,%d])", op, kustoTypeName(left.typ), kustoTypeName(x.typ), p.line, p.col)
		}
		if err := checkComparable(p, "==", left.typ, x.typ); err != nil {
			return compiled{}, err
		}
		values = append(values, x.eval(nil))
	}
	return compiled{typ: TypeBoolean, eval: func(row []any) any {
		v := left.eval(row)
		if v == nil {
			return nil
		}
		return containsValue(values, v, e.caseInsensitive) != e.negated
	}}, nil
}

func containsValue(values []any, v any, fold bool) bool {
	for _, candidate := range values {
		if fold {
			want, _ := candidate.(string)
			got, _ := v.(string)
			if strings.EqualFold(want, got) {
				return true
			}
			continue
		}
		if c, ok := compareValues(v, candidate); ok && c == 0 {
			return true
		}
	}
	return false
}
