package kql

// query is the parsed form of a KQL query: a source table and a pipeline.
type query struct {
	table  string
	pos    pos
	stages []stage
}

// stage is one "| operator" step of the pipeline.
type stage interface{ stagePos() pos }

type whereStage struct {
	pos  pos
	pred expr
}

type projectItem struct {
	name   string // output column name
	column colRef // source column
}

type projectStage struct {
	pos   pos
	items []projectItem
}

type takeStage struct {
	pos   pos
	count int64
}

type sortKey struct {
	column colRef
	desc   bool
}

type sortStage struct {
	pos  pos
	keys []sortKey
}

type topStage struct {
	pos   pos
	count int64
	key   sortKey
}

// summarizeStage is "summarize [Name =] count() [by col, ...]" or
// "summarize by col, ..." (hasCount false).
type summarizeStage struct {
	pos       pos
	hasCount  bool
	countName string
	countPos  pos
	by        []colRef
}

type countStage struct{ pos pos }

func (s *whereStage) stagePos() pos     { return s.pos }
func (s *projectStage) stagePos() pos   { return s.pos }
func (s *takeStage) stagePos() pos      { return s.pos }
func (s *sortStage) stagePos() pos      { return s.pos }
func (s *topStage) stagePos() pos       { return s.pos }
func (s *summarizeStage) stagePos() pos { return s.pos }
func (s *countStage) stagePos() pos     { return s.pos }

// expr is a scalar expression in a where predicate.
type expr interface{ exprPos() pos }

// colRef names a column of the current pipeline schema.
type colRef struct {
	name string
	pos  pos
}

// literal is a constant; typ is one of the Type* names or typeTimespan.
type literal struct {
	pos   pos
	typ   string
	value any
}

// callExpr is ago(timespan) or now([timespan]).
type callExpr struct {
	pos  pos
	name string
	args []expr
}

type notExpr struct {
	pos pos
	arg expr
}

// logicalExpr is "and" / "or".
type logicalExpr struct {
	pos         pos
	op          string
	left, right expr
}

// binaryExpr is a comparison (==, <, ...) or string operator (contains, ...).
type binaryExpr struct {
	pos         pos
	op          string
	left, right expr
}

// inExpr is "x in (...)", "!in", "in~" or "!in~".
type inExpr struct {
	pos             pos
	left            expr
	list            []expr
	negated         bool
	caseInsensitive bool
}

func (e *colRef) exprPos() pos      { return e.pos }
func (e *literal) exprPos() pos     { return e.pos }
func (e *callExpr) exprPos() pos    { return e.pos }
func (e *notExpr) exprPos() pos     { return e.pos }
func (e *logicalExpr) exprPos() pos { return e.pos }
func (e *binaryExpr) exprPos() pos  { return e.pos }
func (e *inExpr) exprPos() pos      { return e.pos }
