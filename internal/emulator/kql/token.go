package kql

// tokenKind classifies a lexical token.
type tokenKind int

const (
	tokEOF      tokenKind = iota
	tokIdent              // identifiers and keywords, including "!contains", "in~"
	tokString             // "..." or '...' literal; value is the decoded string
	tokInt                // integer literal; value is int64
	tokReal               // real literal; value is float64
	tokTimespan           // 1d, 2h, 30m, 10s, 100ms; value is time.Duration
	tokDatetime           // datetime(...) literal; value is time.Time (UTC)
	tokPunct              // operators and punctuation; text is the symbol
)

// token is one lexical token with its decoded value and source position.
type token struct {
	kind  tokenKind
	text  string // source text (or the symbol for tokPunct)
	value any
	pos   pos
}

// is reports whether t is the punctuation symbol sym.
func (t token) is(sym string) bool { return t.kind == tokPunct && t.text == sym }

// isWord reports whether t is the identifier/keyword word.
func (t token) isWord(word string) bool { return t.kind == tokIdent && t.text == word }

// display is the text used for t in error messages.
func (t token) display() string {
	if t.kind == tokEOF {
		return "<EOF>"
	}
	return t.text
}

// punctuators lists multi- and single-character symbols, longest first so
// the lexer matches greedily.
var punctuators = []string{
	"==", "!=", "<=", ">=", "=~", "!~",
	"|", "(", ")", ",", ";", "=", "<", ">", "-", "+", "*", "/", "%", ".", "[", "]", "{", "}", ":", "~", "!", "@",
}
