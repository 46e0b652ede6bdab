// Package odata implements the small part of OData v4 the emulated APIs
// accept: a $filter parser (a lexer and a recursive-descent parser producing
// an AST) with evaluation hooks, and $top/$skip parsing.
//
// The filter grammar is
//
//	expr       = orExpr
//	orExpr     = andExpr { "or" andExpr }
//	andExpr    = unary { "and" unary }
//	unary      = "not" unary | primary
//	primary    = "(" expr ")" | comparison
//	comparison = field ("eq"|"ne"|"gt"|"ge"|"lt"|"le") literal
//	literal    = 'string' | datetime | number | null | true | false | enumName
//
// Strings are single-quoted; a doubled quote stands for one quote:
//
//	assignedTo eq 'o''brien@contoso.com'
//
// Datetimes are unquoted RFC 3339 values (2024-01-01T00:00:00Z, fractional
// seconds and offsets allowed; a bare date means midnight UTC). A bare
// identifier is an enum member (XDR's `status eq Active`). Keywords are case-sensitive, as in
// OData. The caller supplies the [Schema]: which fields exist, which literal
// kinds each accepts, whether it is ordered and how to validate values.
package odata
