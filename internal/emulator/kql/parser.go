package kql

// maxNestingDepth bounds parser recursion so hostile input cannot exhaust
// the stack.
const maxNestingDepth = 64

// unsupportedStatements are Kusto statements and tabular sources that may
// start a query but that the emulator does not implement.
var unsupportedStatements = map[string]bool{
	"let": true, "union": true, "print": true, "range": true, "datatable": true,
	"search": true, "find": true, "set": true, "declare": true, "externaldata": true,
	"materialize": true, "view": true, "alias": true, "pattern": true, "restrict": true,
}

// unsupportedOperators are Kusto tabular operators the emulator rejects by
// name. Hyphenated names are joined by the parser before lookup.
var unsupportedOperators = map[string]bool{
	"join": true, "extend": true, "parse": true, "parse-where": true, "parse-kv": true,
	"let": true, "render": true, "union": true, "mv-expand": true, "mv-apply": true,
	"distinct": true, "project-away": true, "project-rename": true, "project-keep": true,
	"project-reorder": true, "lookup": true, "make-series": true, "evaluate": true,
	"invoke": true, "as": true, "serialize": true, "sample": true, "sample-distinct": true,
	"search": true, "getschema": true, "facet": true, "fork": true, "partition": true,
	"scan": true, "top-nested": true, "top-hitters": true, "reduce": true, "find": true,
	"consume": true, "range": true, "print": true, "externaldata": true,
}

// parser is a recursive-descent parser over a pre-lexed token slice.
type parser struct {
	toks  []token
	i     int
	depth int
}

// parse lexes and parses query text into a query AST.
func parse(text string) (*query, error) {
	toks, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	return p.parseQuery()
}

func (p *parser) peek() token { return p.toks[p.i] }

// peekAt looks n tokens ahead, returning EOF past the end.
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) unexpected() error {
	t := p.peek()
	return syntaxError(t.pos, t.display())
}

func (p *parser) expectPunct(sym string) (token, error) {
	if !p.peek().is(sym) {
		return token{}, p.unexpected()
	}
	return p.advance(), nil
}

func (p *parser) expectWord(word string) error {
	if !p.peek().isWord(word) {
		return p.unexpected()
	}
	p.advance()
	return nil
}

func (p *parser) expectIdent() (token, error) {
	if p.peek().kind != tokIdent || p.peek().text[0] == '!' {
		return token{}, p.unexpected()
	}
	return p.advance(), nil
}

func (p *parser) parseQuery() (*query, error) {
	first := p.peek()
	if first.kind != tokIdent {
		return nil, p.unexpected()
	}
	if unsupportedStatements[first.text] {
		return nil, unsupportedError(first.pos, first.text, "statement")
	}
	if _, err := p.expectIdent(); err != nil {
		return nil, err
	}
	q := &query{table: first.text, pos: first.pos}
	for p.peek().is("|") {
		p.advance()
		st, err := p.parseStage()
		if err != nil {
			return nil, err
		}
		q.stages = append(q.stages, st)
	}
	if p.peek().is(";") {
		p.advance()
	}
	if p.peek().kind != tokEOF {
		return nil, p.unexpected()
	}
	return q, nil
}

// operatorName reads an operator keyword, joining hyphenated names such as
// mv-expand when the parts are adjacent.
func (p *parser) operatorName() (token, error) {
	t, err := p.expectIdent()
	if err != nil {
		return token{}, err
	}
	for p.peek().is("-") && adjacent(t, p.peek()) && p.peekAt(1).kind == tokIdent && adjacent(p.peek(), p.peekAt(1)) {
		p.advance()
		t.text += "-" + p.advance().text
	}
	return t, nil
}

// adjacent reports whether b starts right after a on the same line.
func adjacent(a, b token) bool {
	return a.pos.line == b.pos.line && a.pos.col+len([]rune(a.text)) == b.pos.col
}

func (p *parser) parseStage() (stage, error) {
	op, err := p.operatorName()
	if err != nil {
		return nil, err
	}
	switch op.text {
	case "where", "filter":
		pred, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		return &whereStage{pos: op.pos, pred: pred}, nil
	case "project":
		return p.parseProject(op.pos)
	case "take", "limit":
		n, err := p.parseCount()
		if err != nil {
			return nil, err
		}
		return &takeStage{pos: op.pos, count: n}, nil
	case "order", "sort":
		return p.parseSort(op.pos)
	case "top":
		return p.parseTop(op.pos)
	case "summarize":
		return p.parseSummarize(op.pos)
	case "count":
		return &countStage{pos: op.pos}, nil
	}
	if unsupportedOperators[op.text] {
		return nil, unsupportedError(op.pos, op.text, "operator")
	}
	return nil, syntaxError(op.pos, op.text)
}

func (p *parser) parseCount() (int64, error) {
	t := p.peek()
	if t.kind != tokInt {
		return 0, p.unexpected()
	}
	p.advance()
	return t.value.(int64), nil
}

func (p *parser) parseColRef() (colRef, error) {
	t, err := p.expectIdent()
	if err != nil {
		return colRef{}, err
	}
	if p.peek().is("(") {
		return colRef{}, unsupportedError(t.pos, t.text, "function")
	}
	return colRef{name: t.text, pos: t.pos}, nil
}

func (p *parser) parseProject(at pos) (stage, error) {
	st := &projectStage{pos: at}
	for {
		first, err := p.parseColRef()
		if err != nil {
			return nil, err
		}
		item := projectItem{name: first.name, column: first}
		if p.peek().is("=") {
			p.advance()
			src, err := p.parseColRef()
			if err != nil {
				return nil, err
			}
			item.column = src
		}
		if t := p.peek(); t.kind == tokPunct && !t.is(",") && !t.is("|") && !t.is(";") {
			return nil, errorAt(t.pos, "'project' supports only column names and NewName = Column in the Defender Gateway emulator; found '%s' on line [%d,%d]", t.text, t.pos.line, t.pos.col)
		}
		st.items = append(st.items, item)
		if !p.peek().is(",") {
			return st, nil
		}
		p.advance()
	}
}

func (p *parser) parseSortKey() (sortKey, error) {
	col, err := p.parseColRef()
	if err != nil {
		return sortKey{}, err
	}
	key := sortKey{column: col, desc: true}
	switch {
	case p.peek().isWord("asc"):
		p.advance()
		key.desc = false
	case p.peek().isWord("desc"):
		p.advance()
	}
	if t := p.peek(); t.isWord("nulls") {
		return sortKey{}, unsupportedError(t.pos, "nulls first/last", "sort option")
	}
	return key, nil
}

func (p *parser) parseSort(at pos) (stage, error) {
	if err := p.expectWord("by"); err != nil {
		return nil, err
	}
	st := &sortStage{pos: at}
	for {
		key, err := p.parseSortKey()
		if err != nil {
			return nil, err
		}
		st.keys = append(st.keys, key)
		if !p.peek().is(",") {
			return st, nil
		}
		p.advance()
	}
}

func (p *parser) parseTop(at pos) (stage, error) {
	n, err := p.parseCount()
	if err != nil {
		return nil, err
	}
	if err := p.expectWord("by"); err != nil {
		return nil, err
	}
	key, err := p.parseSortKey()
	if err != nil {
		return nil, err
	}
	return &topStage{pos: at, count: n, key: key}, nil
}

func (p *parser) parseSummarize(at pos) (stage, error) {
	st := &summarizeStage{pos: at, countName: "count_"}
	if !p.peek().isWord("by") {
		if err := p.parseAggregate(st); err != nil {
			return nil, err
		}
	}
	if p.peek().isWord("by") {
		p.advance()
		for {
			col, err := p.parseColRef()
			if err != nil {
				return nil, err
			}
			if t := p.peek(); t.is("=") {
				return nil, unsupportedError(t.pos, "by Name = Column", "summarize form")
			}
			st.by = append(st.by, col)
			if !p.peek().is(",") {
				break
			}
			p.advance()
		}
	}
	return st, nil
}

// parseAggregate parses "[Name =] count()".
func (p *parser) parseAggregate(st *summarizeStage) error {
	name, err := p.expectIdent()
	if err != nil {
		return err
	}
	if p.peek().is("=") {
		p.advance()
		st.countName = name.text
		if name, err = p.expectIdent(); err != nil {
			return err
		}
	}
	if !p.peek().is("(") {
		return syntaxError(name.pos, name.text)
	}
	if name.text != "count" {
		return unsupportedError(name.pos, name.text, "aggregation function")
	}
	p.advance()
	if _, err := p.expectPunct(")"); err != nil {
		return err
	}
	st.hasCount, st.countPos = true, name.pos
	if t := p.peek(); t.is(",") {
		return errorAt(t.pos, "Only a single count() aggregation is supported by the Defender Gateway emulator (line [%d,%d])", t.pos.line, t.pos.col)
	}
	return nil
}
