package odata

import (
	"strings"
)

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokWord // unquoted literal starting with a digit or '-': number or datetime
	tokLParen
	tokRParen
)

func (k tokenKind) String() string {
	switch k {
	case tokEOF:
		return "end of input"
	case tokIdent:
		return "identifier"
	case tokString:
		return "string"
	case tokWord:
		return "literal"
	case tokLParen:
		return "'('"
	default:
		return "')'"
	}
}

type token struct {
	kind tokenKind
	text string // identifier or word as written; string contents unescaped
	pos  int
}

// lex splits a $filter value into tokens.
func lex(src string) ([]token, error) {
	var tokens []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			tokens = append(tokens, token{kind: tokLParen, text: "(", pos: i})
			i++
		case c == ')':
			tokens = append(tokens, token{kind: tokRParen, text: ")", pos: i})
			i++
		case c == '\'':
			text, next, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			tokens = append(tokens, token{kind: tokString, text: text, pos: i})
			i = next
		case isDigit(c) || (c == '-' && i+1 < len(src) && isDigit(src[i+1])):
			start := i
			for i++; i < len(src) && isWordChar(src[i]); i++ {
			}
			tokens = append(tokens, token{kind: tokWord, text: src[start:i], pos: start})
		case isIdentStart(c):
			start := i
			for i++; i < len(src) && isIdentChar(src[i]); i++ {
			}
			tokens = append(tokens, token{kind: tokIdent, text: src[start:i], pos: start})
		default:
			return nil, filterError(i, "unexpected character %q", rune(c))
		}
	}
	return append(tokens, token{kind: tokEOF, pos: len(src)}), nil
}

// lexString reads a single-quoted string starting at src[start] and returns
// its unescaped contents and the offset after the closing quote.
func lexString(src string, start int) (string, int, error) {
	var b strings.Builder
	for i := start + 1; i < len(src); i++ {
		if src[i] != '\'' {
			b.WriteByte(src[i])
			continue
		}
		if i+1 < len(src) && src[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, nil
	}
	return "", 0, filterError(start, "unterminated string literal")
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// isWordChar accepts what numbers and datetimes are made of.
func isWordChar(c byte) bool {
	return isIdentChar(c) || c == '-' || c == ':' || c == '.' || c == '+'
}
