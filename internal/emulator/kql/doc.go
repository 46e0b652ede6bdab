// Package kql is a small engine for a documented subset of the Kusto Query
// Language (KQL), evaluated over deterministic sample tables. The emulator's
// fake Graph and Defender XDR advanced-hunting endpoints use it so that
// hunting queries return realistic, repeatable results offline.
//
// # Usage
//
//	db := kql.NewSampleDatabase(tenantID, now)
//	res, err := db.Run(ctx, `DeviceProcessEvents
//	    | where Timestamp > ago(7d) and ProcessCommandLine has "EncodedCommand"
//	    | summarize Executions = count() by DeviceName
//	    | top 5 by Executions`)
//
// A query problem (syntax, unsupported construct, unknown table or column,
// type mismatch) is returned as *Error with a Kusto-style message and a
// 1-based line/column. A canceled context is returned as ctx.Err().
//
// # Tables
//
// DeviceProcessEvents, DeviceNetworkEvents, AlertInfo and EmailEvents, with
// a subset of the columns (names and types) of Microsoft's advanced hunting
// schema; see Database.Schema. Rows are generated with math/rand/v2 PCG
// seeded from the tenant id, with timestamps in the 30 days before now.
// ago() and now() in queries are relative to that now, not the wall clock.
//
// # Language subset
//
// A query is a table name followed by zero or more "| operator" stages.
// Whitespace and newlines are free, "//" starts a comment that runs to the
// end of the line, and one trailing ";" is allowed. Names are
// case-sensitive.
//
// Operators:
//
//	where <predicate>                   (alias: filter)
//	project Col, NewName = Col, ...
//	take N                              (alias: limit)
//	order by Col [asc|desc], ...        (alias: sort by; default desc)
//	top N by Col [asc|desc]             (default desc)
//	summarize [Name =] count() [by Col, ...]   (default name count_)
//	summarize by Col, ...               (distinct groups)
//	count                               (one Int64 column named Count)
//
// Predicates combine comparisons with "and", "or", "not(...)" and
// parentheses ("and" binds tighter than "or"). Comparisons:
//
//	== != < <= > >=      typed comparison; numbers compare across Int32,
//	                     Int64 and Double; strings compare case-sensitively
//	=~ !~                case-insensitive string equality
//	contains !contains   case-insensitive substring
//	has !has             case-insensitive whole-term match: the match must
//	                     not be preceded or followed by a letter or digit
//	startswith endswith  case-insensitive prefix/suffix (and negations)
//	in (...) !in (...)   membership in a list of constants (case-sensitive)
//	in~ (...) !in~ (...) case-insensitive membership
//
// Each string operator also has a case-sensitive "_cs" form (contains_cs,
// has_cs, startswith_cs, endswith_cs) and negation. String operators accept
// any scalar on the left (converted as tostring() would) and need a string
// on the right. Comparing values of different types (a string column with
// 5) is an *Error; nulls never satisfy a comparison.
//
// Literals: "double" and 'single' quoted strings with \\ \" \' \n \t \r \0
// escapes; @"verbatim" strings; integers (long); reals (1.5, 2e3);
// true/false; datetime(2024-01-01T00:00:00Z) and other ISO 8601 forms;
// timespans 1d 2h 30m 10s 100ms (also 1.5h, day/hr/min/sec/tick spellings);
// ago(7d); now(); now(-1d). A leading minus is allowed on numbers and
// timespans.
//
// Everything else, such as join, extend, parse, let, render, union,
// mv-expand, distinct, scalar functions other than ago/now/not, other
// aggregations and arithmetic, is rejected with an *Error naming the
// construct, e.g. "'join' operator is not supported by the Defender Gateway
// emulator".
//
// # Limits
//
// Results are truncated to MaxResultRows rows, as in Defender. Parser
// nesting is bounded, so deeply nested parentheses return an *Error rather
// than overflowing the stack. The context is checked between stages and
// periodically while scanning rows.
//
// A Database is immutable after construction and safe for concurrent use.
package kql
