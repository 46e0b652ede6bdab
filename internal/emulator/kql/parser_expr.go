package kql

import "time"

// comparisonOps are the symbolic comparison operators.
var comparisonOps = map[string]bool{"==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true, "=~": true, "!~": true}

// stringOps are the word string operators and their negations.
var stringOps = map[string]bool{
	"contains": true, "!contains": true, "contains_cs": true, "!contains_cs": true,
	"has": true, "!has": true, "has_cs": true, "!has_cs": true,
	"startswith": true, "!startswith": true, "startswith_cs": true, "!startswith_cs": true,
	"endswith": true, "!endswith": true, "endswith_cs": true, "!endswith_cs": true,
}

// unsupportedPredicateOps are Kusto binary operators the emulator rejects.
var unsupportedPredicateOps = map[string]bool{
	"between": true, "!between": true, "has_any": true, "has_all": true,
	"hasprefix": true, "!hasprefix": true, "hassuffix": true, "!hassuffix": true,
	"hasprefix_cs": true, "!hasprefix_cs": true, "hassuffix_cs": true, "!hassuffix_cs": true,
	"matches": true, "like": true, "notlike": true,
}

// supportedFunctions are the scalar functions allowed in predicates.
var supportedFunctions = map[string]bool{"ago": true, "now": true, "not": true}

// parseExpr parses an or-expression, the loosest-binding level. Every
// nested parenthesis or not(...) re-enters here, so depth is checked here.
func (p *parser) parseExpr() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNestingDepth {
		t := p.peek()
		return nil, errorAt(t.pos, "Query is nested too deeply (more than %d levels) on line [%d,%d]", maxNestingDepth, t.pos.line, t.pos.col)
	}
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.peek().isWord("or") {
		op := p.advance()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &logicalExpr{pos: op.pos, op: "or", left: left, right: right}
	}
	return left, nil
}

func (p *parser) parseAnd() (expr, error) {
	left, err := p.parseComparison()
	if err != nil {
		return nil, err
	}
	for p.peek().isWord("and") {
		op := p.advance()
		right, err := p.parseComparison()
		if err != nil {
			return nil, err
		}
		left = &logicalExpr{pos: op.pos, op: "and", left: left, right: right}
	}
	return left, nil
}

// parseComparison parses "operand [op operand]"; comparisons do not chain.
func (p *parser) parseComparison() (expr, error) {
	left, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	op := p.peek()
	switch {
	case op.kind == tokPunct && comparisonOps[op.text],
		op.kind == tokIdent && stringOps[op.text]:
		p.advance()
		right, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		return &binaryExpr{pos: op.pos, op: op.text, left: left, right: right}, nil
	case op.isWord("in"), op.isWord("!in"), op.isWord("in~"), op.isWord("!in~"):
		p.advance()
		return p.parseInList(op, left)
	case op.kind == tokIdent && unsupportedPredicateOps[op.text]:
		return nil, unsupportedError(op.pos, op.text, "operator")
	}
	return left, nil
}

func (p *parser) parseInList(op token, left expr) (expr, error) {
	e := &inExpr{
		pos:             op.pos,
		left:            left,
		negated:         op.text[0] == '!',
		caseInsensitive: op.text[len(op.text)-1] == '~',
	}
	if _, err := p.expectPunct("("); err != nil {
		return nil, err
	}
	for {
		item, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		e.list = append(e.list, item)
		if !p.peek().is(",") {
			break
		}
		p.advance()
	}
	if _, err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return e, nil
}

// parseOperand parses a primary and rejects arithmetic and property access
// following it with a message naming the construct.
func (p *parser) parseOperand() (expr, error) {
	e, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); {
	case t.is("+"), t.is("-"), t.is("*"), t.is("/"), t.is("%"):
		return nil, errorAt(t.pos, "Arithmetic operator '%s' is not supported by the Defender Gateway emulator; use ago() or now(offset) for relative times (line [%d,%d])", t.text, t.pos.line, t.pos.col)
	case t.is("."), t.is("["):
		return nil, errorAt(t.pos, "Property access '%s' is not supported by the Defender Gateway emulator (line [%d,%d])", t.text, t.pos.line, t.pos.col)
	}
	return e, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.peek()
	switch t.kind {
	case tokString:
		p.advance()
		return &literal{pos: t.pos, typ: TypeString, value: t.value}, nil
	case tokInt, tokReal, tokTimespan, tokDatetime:
		p.advance()
		return &literal{pos: t.pos, typ: literalType(t.value), value: t.value}, nil
	case tokIdent:
		return p.parseIdentPrimary()
	case tokPunct:
		switch {
		case t.is("("):
			p.advance()
			inner, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectPunct(")"); err != nil {
				return nil, err
			}
			return inner, nil
		case t.is("-"):
			return p.parseNegative()
		}
	}
	return nil, p.unexpected()
}

// parseNegative parses a minus sign applied to a numeric or timespan literal.
func (p *parser) parseNegative() (expr, error) {
	minus := p.advance()
	t := p.peek()
	if !adjacent(minus, t) {
		return nil, syntaxError(minus.pos, "-")
	}
	var v any
	switch x := t.value.(type) {
	case int64:
		v = -x
	case float64:
		v = -x
	case time.Duration:
		v = -x
	default:
		return nil, syntaxError(minus.pos, "-")
	}
	p.advance()
	return &literal{pos: minus.pos, typ: literalType(v), value: v}, nil
}

func (p *parser) parseIdentPrimary() (expr, error) {
	t := p.advance()
	switch t.text {
	case "true", "false":
		return &literal{pos: t.pos, typ: TypeBoolean, value: t.text == "true"}, nil
	}
	if t.text[0] == '!' {
		return nil, syntaxError(t.pos, t.text)
	}
	if !p.peek().is("(") {
		return &colRef{name: t.text, pos: t.pos}, nil
	}
	if !supportedFunctions[t.text] {
		return nil, unsupportedError(t.pos, t.text, "function")
	}
	p.advance()
	var args []expr
	for !p.peek().is(")") {
		if len(args) > 0 {
			if _, err := p.expectPunct(","); err != nil {
				return nil, err
			}
		}
		arg, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, arg)
	}
	p.advance()
	if t.text == "not" {
		if len(args) != 1 {
			return nil, errorAt(t.pos, "not() expects exactly one argument (line [%d,%d])", t.pos.line, t.pos.col)
		}
		return &notExpr{pos: t.pos, arg: args[0]}, nil
	}
	return &callExpr{pos: t.pos, name: t.text, args: args}, nil
}
