package kql

import (
	"context"
	"testing"
)

func TestRunSemanticErrors(t *testing.T) {
	tests := []struct {
		query       string
		wantMessage string
		wantCol     int
	}{
		{`Nope | take 1`, "Failed to resolve table or column expression named 'Nope'", 1},
		{`events | take 1`, "Failed to resolve table or column expression named 'events'", 1},
		{`Events | where Nope == 1`, "Failed to resolve table or column expression named 'Nope'", 16},
		{`Events | where Name < 5`, "Cannot compare values of types string and long. Try adding explicit casts (line [1,21])", 21},
		{`Events | where Id == "1"`, "Cannot compare values of types long and string. Try adding explicit casts (line [1,19])", 19},
		{`Events | where When > 1d`, "Cannot compare values of types datetime and timespan. Try adding explicit casts (line [1,21])", 21},
		{`Events | where When > 5`, "Cannot compare values of types datetime and long. Try adding explicit casts (line [1,21])", 21},
		{`Events | where Extra == 1`, "Cannot compare values of types dynamic and long. Try adding explicit casts (line [1,22])", 22},
		{`Events | where Flag > false`, "Operator '>' is not defined for bool operands (line [1,21])", 21},
		{`Events | where Name =~ 5`, "Operator '=~' expects string operands, got string and long (line [1,21])", 21},
		{`Events | where Name contains 5`, "Operator 'contains' expects string operands, got string and long (line [1,21])", 21},
		{`Events | where Extra has "a"`, "Operator 'has' expects string operands, got dynamic and string (line [1,22])", 22},
		{`Events | where Name in ("a", 1)`, "Cannot compare values of types string and long. Try adding explicit casts (line [1,30])", 30},
		{`Events | where Port in~ ("80")`, "Operator 'in~' expects string operands, got int and string (line [1,26])", 26},
		{`Events | where Name in (Name)`, "The list of 'in' must contain only constants (line [1,25])", 25},
		{`Events | where Name`, "'where' expects a bool expression, got string (line [1,16])", 16},
		{`Events | where 1`, "'where' expects a bool expression, got long (line [1,16])", 16},
		{`Events | where Flag and Name`, "'and' expects a bool expression, got string (line [1,25])", 25},
		{`Events | where not(Id)`, "not() expects a bool expression, got long (line [1,20])", 20},
		{`Events | where When > ago(1)`, "ago() expects a timespan literal such as 7d (line [1,23])", 23},
		{`Events | where When > ago()`, "ago() expects exactly one timespan argument (line [1,23])", 23},
		{`Events | where When > now(1d, 2d)`, "now() expects exactly one timespan argument (line [1,23])", 23},
		{`Events | project Nope`, "Failed to resolve table or column expression named 'Nope'", 18},
		{`Events | project A = Name, A = Id`, "A column named 'A' already exists in the projection (line [1,32])", 32},
		{`Events | project Name | where Id == 1`, "Failed to resolve table or column expression named 'Id'", 31},
		{`Events | project N = Name | where Name == ""`, "Failed to resolve table or column expression named 'Name'", 35},
		{`Events | summarize count() | where Name == ""`, "Failed to resolve table or column expression named 'Name'", 36},
		{`Events | count | order by Id`, "Failed to resolve table or column expression named 'Id'", 27},
		{`Events | summarize count() by Nope`, "Failed to resolve table or column expression named 'Nope'", 31},
		{`Events | summarize count() by Name, Name`, "Column 'Name' appears more than once in 'by' (line [1,37])", 37},
		{`Events | summarize Name = count() by Name`, "A column named 'Name' already exists (line [1,27])", 27},
		{`Events | order by Extra`, "Cannot sort by dynamic column 'Extra' (line [1,19])", 19},
		{`Events | top 1 by Nope`, "Failed to resolve table or column expression named 'Nope'", 19},
	}
	db := newTestDatabase()
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := db.Run(context.Background(), tt.query)
			assertError(t, err, tt.wantMessage, 1, tt.wantCol)
		})
	}
}
