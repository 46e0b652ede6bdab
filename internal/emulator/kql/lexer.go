package kql

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// timespanUnits maps Kusto timespan suffixes to their duration.
var timespanUnits = map[string]time.Duration{
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"tick": 100 * time.Nanosecond, "ticks": 100 * time.Nanosecond,
}

// datetimeLayouts are the literal forms accepted inside datetime(...).
var datetimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// lexer turns query text into tokens. It works on runes so that columns in
// error positions count characters, not bytes.
type lexer struct {
	src       []rune
	off       int
	line, col int
}

// tokenize lexes the whole query, returning an *Error for malformed input.
func tokenize(query string) ([]token, error) {
	lx := &lexer{src: []rune(query), line: 1, col: 1}
	var toks []token
	for {
		tok, err := lx.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, tok)
		if tok.kind == tokEOF {
			return toks, nil
		}
	}
}

func (lx *lexer) peekRune(ahead int) rune {
	if i := lx.off + ahead; i < len(lx.src) {
		return lx.src[i]
	}
	return 0
}

func (lx *lexer) advance() rune {
	r := lx.src[lx.off]
	lx.off++
	if r == '\n' {
		lx.line++
		lx.col = 1
	} else {
		lx.col++
	}
	return r
}

func (lx *lexer) here() pos { return pos{lx.line, lx.col} }

// skipSpaceAndComments skips whitespace and // line comments.
func (lx *lexer) skipSpaceAndComments() {
	for lx.off < len(lx.src) {
		r := lx.src[lx.off]
		switch {
		case unicode.IsSpace(r):
			lx.advance()
		case r == '/' && lx.peekRune(1) == '/':
			for lx.off < len(lx.src) && lx.src[lx.off] != '\n' {
				lx.advance()
			}
		default:
			return
		}
	}
}

func (lx *lexer) next() (token, error) {
	lx.skipSpaceAndComments()
	start := lx.here()
	if lx.off >= len(lx.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	r := lx.src[lx.off]
	switch {
	case r == '"' || r == '\'':
		return lx.lexString(start)
	case r == '@' && (lx.peekRune(1) == '"' || lx.peekRune(1) == '\''):
		return lx.lexVerbatimString(start)
	case isDigit(r):
		return lx.lexNumber(start)
	case isIdentStart(r):
		return lx.lexIdent(start, "")
	case r == '!' && isIdentStart(lx.peekRune(1)):
		lx.advance()
		return lx.lexIdent(start, "!")
	}
	for _, p := range punctuators {
		if lx.hasPrefix(p) {
			for range len(p) {
				lx.advance()
			}
			return token{kind: tokPunct, text: p, pos: start}, nil
		}
	}
	return token{}, syntaxError(start, string(r))
}

func (lx *lexer) hasPrefix(s string) bool {
	i := lx.off
	for _, r := range s {
		if i >= len(lx.src) || lx.src[i] != r {
			return false
		}
		i++
	}
	return true
}

func (lx *lexer) lexIdent(start pos, prefix string) (token, error) {
	begin := lx.off
	for lx.off < len(lx.src) && isIdentPart(lx.src[lx.off]) {
		lx.advance()
	}
	text := prefix + string(lx.src[begin:lx.off])
	// in~ and !in~ are single operators.
	if (text == "in" || text == "!in") && lx.peekRune(0) == '~' {
		lx.advance()
		text += "~"
	}
	if text == "datetime" {
		if tok, ok, err := lx.lexDatetimeBody(start); ok || err != nil {
			return tok, err
		}
	}
	return token{kind: tokIdent, text: text, pos: start}, nil
}

// lexDatetimeBody lexes the parenthesised body after the word datetime. It
// reports ok=false (consuming nothing) when no '(' follows.
func (lx *lexer) lexDatetimeBody(start pos) (token, bool, error) {
	saved := *lx
	lx.skipSpaceAndComments()
	if lx.peekRune(0) != '(' {
		*lx = saved
		return token{}, false, nil
	}
	lx.advance()
	begin := lx.off
	for lx.off < len(lx.src) && lx.src[lx.off] != ')' && lx.src[lx.off] != '\n' {
		lx.advance()
	}
	if lx.peekRune(0) != ')' {
		return token{}, false, syntaxError(start, "datetime(")
	}
	body := string(lx.src[begin:lx.off])
	lx.advance()
	text := strings.Trim(strings.TrimSpace(body), `"'`)
	for _, layout := range datetimeLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			return token{kind: tokDatetime, text: "datetime(" + body + ")", value: t.UTC(), pos: start}, true, nil
		}
	}
	return token{}, false, errorAt(start, "Invalid datetime literal 'datetime(%s)' on line [%d,%d]", body, start.line, start.col)
}

func (lx *lexer) lexNumber(start pos) (token, error) {
	begin := lx.off
	for isDigit(lx.peekRune(0)) {
		lx.advance()
	}
	isReal := false
	if lx.peekRune(0) == '.' && isDigit(lx.peekRune(1)) {
		isReal = true
		lx.advance()
		for isDigit(lx.peekRune(0)) {
			lx.advance()
		}
	}
	if r := lx.peekRune(0); (r == 'e' || r == 'E') && (isDigit(lx.peekRune(1)) ||
		((lx.peekRune(1) == '+' || lx.peekRune(1) == '-') && isDigit(lx.peekRune(2)))) {
		isReal = true
		lx.advance()
		lx.advance()
		for isDigit(lx.peekRune(0)) {
			lx.advance()
		}
	}
	numText := string(lx.src[begin:lx.off])
	unitBegin := lx.off
	for isIdentPart(lx.peekRune(0)) {
		lx.advance()
	}
	unit := string(lx.src[unitBegin:lx.off])
	text := numText + unit
	if unit != "" {
		return lexTimespan(start, text, numText, unit)
	}
	if isReal {
		f, err := strconv.ParseFloat(numText, 64)
		if err != nil || math.IsInf(f, 0) {
			return token{}, syntaxError(start, text)
		}
		return token{kind: tokReal, text: text, value: f, pos: start}, nil
	}
	n, err := strconv.ParseInt(numText, 10, 64)
	if err != nil {
		return token{}, syntaxError(start, text)
	}
	return token{kind: tokInt, text: text, value: n, pos: start}, nil
}

func lexTimespan(start pos, text, numText, unit string) (token, error) {
	scale, ok := timespanUnits[unit]
	if !ok {
		return token{}, syntaxError(start, text)
	}
	f, err := strconv.ParseFloat(numText, 64)
	if err != nil {
		return token{}, syntaxError(start, text)
	}
	d := f * float64(scale)
	if math.IsInf(d, 0) || math.IsNaN(d) || d >= math.MaxInt64 {
		return token{}, errorAt(start, "Timespan literal '%s' is out of range on line [%d,%d]", text, start.line, start.col)
	}
	return token{kind: tokTimespan, text: text, value: time.Duration(d), pos: start}, nil
}

func (lx *lexer) lexString(start pos) (token, error) {
	begin := lx.off
	quote := lx.advance()
	var sb strings.Builder
	for {
		if lx.off >= len(lx.src) || lx.src[lx.off] == '\n' {
			return token{}, syntaxError(start, string(quote))
		}
		r := lx.advance()
		switch r {
		case quote:
			return token{kind: tokString, text: string(lx.src[begin:lx.off]), value: sb.String(), pos: start}, nil
		case '\\':
			escPos := lx.here()
			if lx.off >= len(lx.src) {
				return token{}, syntaxError(start, string(quote))
			}
			decoded, ok := decodeEscape(lx.advance())
			if !ok {
				return token{}, syntaxError(escPos, string(lx.src[lx.off-1]))
			}
			sb.WriteRune(decoded)
		default:
			sb.WriteRune(r)
		}
	}
}

// lexVerbatimString lexes @"..." / @'...': no escapes, a doubled quote is a
// literal quote.
func (lx *lexer) lexVerbatimString(start pos) (token, error) {
	begin := lx.off
	lx.advance() // @
	quote := lx.advance()
	var sb strings.Builder
	for {
		if lx.off >= len(lx.src) || lx.src[lx.off] == '\n' {
			return token{}, syntaxError(start, "@"+string(quote))
		}
		r := lx.advance()
		if r == quote {
			if lx.peekRune(0) != quote {
				return token{kind: tokString, text: string(lx.src[begin:lx.off]), value: sb.String(), pos: start}, nil
			}
			lx.advance()
		}
		sb.WriteRune(r)
	}
}

func decodeEscape(r rune) (rune, bool) {
	switch r {
	case '\\', '"', '\'':
		return r, true
	case 'n':
		return '\n', true
	case 't':
		return '\t', true
	case 'r':
		return '\r', true
	case '0':
		return 0, true
	}
	return 0, false
}

func isDigit(r rune) bool      { return r >= '0' && r <= '9' }
func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool  { return isIdentStart(r) || unicode.IsDigit(r) }
