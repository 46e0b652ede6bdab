package kql

import (
	"reflect"
	"testing"
)

func TestWherePredicates(t *testing.T) {
	tests := []struct {
		predicate string
		wantIDs   []int64
	}{
		// Comparisons and numeric promotion.
		{`Id == 2`, []int64{2}},
		{`Id != 2`, []int64{1, 3, 4, 5}},
		{`Port > 443`, []int64{3, 5}},
		{`Port >= 443`, []int64{1, 3, 5}},
		{`Port < 443`, []int64{2}},
		{`Port <= 80.0`, []int64{2}},
		{`Score > 1`, []int64{1, 2, 5}},
		{`Score == 2`, []int64{2}},
		{`Id < Port`, []int64{1, 2, 3, 5}},
		{`Flag == true`, []int64{1, 4}},
		{`Flag`, []int64{1, 4}},
		{`Flag != true`, []int64{2, 5}},
		// Nulls never satisfy a comparison, not even !=.
		{`Port != 1`, []int64{1, 2, 3, 5}},
		// Strings: == is case-sensitive, =~ is not.
		{`Name == "cmd.exe /c whoami"`, []int64{2}},
		{`Name == "CMD.EXE /c whoami"`, nil},
		{`Name =~ "CMD.EXE /C WHOAMI"`, []int64{2}},
		{`Name !~ "CMD.EXE /C WHOAMI"`, []int64{1, 3, 4, 5}},
		{`Name == ""`, []int64{4}},
		{`Name > "c" and Name < "d"`, []int64{2}},
		// contains: case-insensitive substring.
		{`Name contains "power"`, []int64{1, 5}},
		{`Name contains "ENCODED"`, []int64{1}},
		{`Name !contains "power"`, []int64{2, 3, 4}},
		{`Name contains_cs "power"`, []int64{5}},
		{`Name !contains_cs "power"`, []int64{1, 2, 3, 4}},
		// has: case-insensitive whole term.
		{`Name has "power"`, nil},
		{`Name has "powershell"`, []int64{1, 5}},
		{`Name has "ENCODED"`, nil},
		{`Name has "encodedcommand"`, []int64{1}},
		{`Name has "-EncodedCommand"`, []int64{1}},
		{`Name has "mimikatz"`, []int64{3}},
		{`Name has "exe"`, []int64{1, 2, 5}},
		{`Name has "cmd.exe"`, []int64{2}},
		{`Name !has "exe"`, []int64{3, 4}},
		{`Name has_cs "PowerShell"`, []int64{1}},
		{`Name !has_cs "PowerShell"`, []int64{2, 3, 4, 5}},
		// startswith / endswith: case-insensitive unless _cs.
		{`Name startswith "POWERSHELL"`, []int64{1, 5}},
		{`Name !startswith "powershell"`, []int64{2, 3, 4}},
		{`Name startswith_cs "Power"`, []int64{1}},
		{`Name endswith ".EXE"`, []int64{5}},
		{`Name !endswith ".exe"`, []int64{1, 2, 3, 4}},
		{`Name endswith_cs ".EXE"`, nil},
		// String operators on a non-string column use its string form.
		{`Port contains "44"`, []int64{1, 3}},
		{`Port startswith "8"`, []int64{2, 5}},
		// in / !in / in~ / !in~.
		{`Name in ("Invoke-Mimikatz", "x")`, []int64{3}},
		{`Name in ("invoke-mimikatz")`, nil},
		{`Name in~ ("invoke-mimikatz")`, []int64{3}},
		{`Name !in ("Invoke-Mimikatz", "")`, []int64{1, 2, 5}},
		{`Name !in~ ("INVOKE-MIMIKATZ")`, []int64{1, 2, 4, 5}},
		{`Port in (80, 8080)`, []int64{2, 5}},
		{`Port !in (80, 8080)`, []int64{1, 3}},
		{`Score in (1.5, 3)`, []int64{1, 5}},
		// Boolean logic, precedence and three-valued nulls.
		{`Id == 1 or Id == 2 and Port == 443`, []int64{1}},
		{`(Id == 1 or Id == 2) and Port == 80`, []int64{2}},
		{`not(Id == 1)`, []int64{2, 3, 4, 5}},
		{`not(Flag)`, []int64{2, 5}},
		{`not(Score > 1)`, []int64{4}},
		{`Score > 100 or Id == 3`, []int64{3}},
		{`not(not(Id == 3))`, []int64{3}},
		{`true`, []int64{1, 2, 3, 4, 5}},
		{`false or Id == 4`, []int64{4}},
		// Time: ago(), now(), now(offset), datetime().
		{`When > ago(1d)`, []int64{1, 5}},
		{`When > ago(1.5h)`, []int64{1, 5}},
		{`When > ago(30m)`, []int64{5}},
		{`When < ago(30d)`, []int64{4}},
		{`When > now(-3d) and When < now()`, []int64{1, 2, 5}},
		{`When <= datetime(2025-05-22T12:00:00Z)`, []int64{3, 4}},
		{`When >= datetime("2025-06-01")`, []int64{1, 5}},
	}
	db := newTestDatabase()
	for _, tt := range tests {
		t.Run(tt.predicate, func(t *testing.T) {
			res := mustRun(t, db, "Events | where "+tt.predicate+" | project Id")
			var got []int64
			for _, v := range columnValues(t, res, "Id") {
				got = append(got, v.(int64))
			}
			if !reflect.DeepEqual(got, tt.wantIDs) {
				t.Errorf("where %s: got ids %v, want %v", tt.predicate, got, tt.wantIDs)
			}
		})
	}
}

func TestHasTerm(t *testing.T) {
	tests := []struct {
		haystack, needle string
		fold             bool
		want             bool
	}{
		{"powershell.exe", "powershell", true, true},
		{"powershell.exe", "power", true, false},
		{"powershell.exe", "shell", true, false},
		{"PowerShell.exe", "powershell", true, true},
		{"PowerShell.exe", "powershell", false, false},
		{"run cmd now", "cmd", true, true},
		{"cmdcmd cmd", "cmd", true, true},      // second occurrence is a term
		{"xcmd cmdx", "cmd", true, false},      // never on a boundary
		{"a.b.c", ".b.", true, true},           // non-alphanumeric edges need no boundary
		{"ÉCOLE ouverte", "école", true, true}, // Unicode letters fold and bound terms
		{"écoles", "école", true, false},
		{"anything", "", true, true},
		{"", "x", true, false},
	}
	for _, tt := range tests {
		if got := hasTerm(tt.haystack, tt.needle, tt.fold); got != tt.want {
			t.Errorf("hasTerm(%q, %q, fold=%v) = %v, want %v", tt.haystack, tt.needle, tt.fold, got, tt.want)
		}
	}
}
