package odata

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 64

// ParseFilter parses a $filter value against schema. An empty filter yields
// a nil Expr, which matches everything.
func ParseFilter(src string, schema Schema) (Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	tokens, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{tokens: tokens, schema: schema}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, filterError(t.pos, "unexpected %s %q after a complete expression", t.kind, t.text)
	}
	return e, nil
}

type parser struct {
	tokens []token
	next   int
	depth  int
	schema Schema
}

func (p *parser) peek() token { return p.tokens[p.next] }

func (p *parser) advance() token {
	t := p.tokens[p.next]
	if t.kind != tokEOF {
		p.next++
	}
	return t
}

// peekKeyword reports whether the next token is the identifier kw.
func (p *parser) peekKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tokIdent && t.text == kw
}

func (p *parser) parseOr() (Expr, error) {
	left, err := p.parseAnd()
	for err == nil && p.peekKeyword("or") {
		p.advance()
		var right Expr
		if right, err = p.parseAnd(); err == nil {
			left = &Or{Left: left, Right: right}
		}
	}
	return left, err
}

func (p *parser) parseAnd() (Expr, error) {
	left, err := p.parseUnary()
	for err == nil && p.peekKeyword("and") {
		p.advance()
		var right Expr
		if right, err = p.parseUnary(); err == nil {
			left = &And{Left: left, Right: right}
		}
	}
	return left, err
}

func (p *parser) parseUnary() (Expr, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, filterError(p.peek().pos, "expression nested too deeply")
	}
	defer func() { p.depth-- }()
	if p.peekKeyword("not") {
		p.advance()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (Expr, error) {
	t := p.advance()
	switch t.kind {
	case tokLParen:
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if closing := p.advance(); closing.kind != tokRParen {
			return nil, filterError(closing.pos, "expected ')' but found %s", describe(closing))
		}
		return e, nil
	case tokIdent:
		return p.parseComparison(t)
	default:
		return nil, filterError(t.pos, "expected a field name or '(' but found %s", describe(t))
	}
}

func (p *parser) parseComparison(fieldTok token) (Expr, error) {
	field, ok := p.schema[fieldTok.text]
	if !ok {
		return nil, filterError(fieldTok.pos, "unknown field %q; filterable fields are %s", fieldTok.text, p.fieldList())
	}
	opTok := p.advance()
	op, ok := operators[opTok.text]
	if opTok.kind != tokIdent || !ok {
		return nil, filterError(opTok.pos, "expected a comparison operator (eq, ne, gt, ge, lt, le) after %q but found %s", fieldTok.text, describe(opTok))
	}
	if !field.Ordered && op != Eq && op != Ne {
		return nil, filterError(opTok.pos, "operator %q is not supported on field %q; use eq or ne", op, fieldTok.text)
	}
	litTok := p.advance()
	lit, err := literal(litTok)
	if err != nil {
		return nil, err
	}
	if field.Accepts&lit.Kind == 0 {
		return nil, filterError(litTok.pos, "field %q takes %s values, not %s", fieldTok.text, field.Accepts, lit.Kind)
	}
	if lit.Kind == KindNull && op != Eq && op != Ne {
		return nil, filterError(opTok.pos, "null can only be compared with eq or ne")
	}
	if field.Validate != nil {
		if err := field.Validate(lit); err != nil {
			return nil, filterError(litTok.pos, "invalid value for field %q: %v", fieldTok.text, err)
		}
	}
	return &Comparison{Field: fieldTok.text, Op: op, Value: lit}, nil
}

func (p *parser) fieldList() string {
	names := make([]string, 0, len(p.schema))
	for n := range p.schema {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// literal converts a token into a value.
func literal(t token) (Literal, error) {
	switch t.kind {
	case tokString:
		return Literal{Kind: KindString, Text: t.text}, nil
	case tokIdent:
		switch t.text {
		case "null":
			return Literal{Kind: KindNull, Text: t.text}, nil
		case "true", "false":
			return Literal{Kind: KindBoolean, Text: t.text, Bool: t.text == "true"}, nil
		}
		return Literal{Kind: KindEnum, Text: t.text}, nil
	case tokWord:
		if ts, ok := parseDateTime(t.text); ok {
			return Literal{Kind: KindDateTime, Text: t.text, Time: ts}, nil
		}
		if n, err := strconv.ParseFloat(t.text, 64); err == nil && !strings.ContainsAny(t.text, "xXpP_") {
			return Literal{Kind: KindNumber, Text: t.text, Number: n}, nil
		}
		return Literal{}, filterError(t.pos, "%q is neither a number nor an RFC 3339 datetime", t.text)
	default:
		return Literal{}, filterError(t.pos, "expected a value but found %s", describe(t))
	}
}

// parseDateTime accepts RFC 3339 datetimes with optional fractional seconds
// and a bare yyyy-mm-dd date (midnight UTC).
func parseDateTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return "string '" + t.text + "'"
	default:
		return strconv.Quote(t.text)
	}
}
