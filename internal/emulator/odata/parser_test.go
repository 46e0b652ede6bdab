package odata

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

var testSchema = Schema{
	"status":         {Accepts: KindString | KindEnum, Validate: oneOf("active", "resolved")},
	"assignedTo":     {Accepts: KindString | KindNull},
	"lastUpdateTime": {Accepts: KindDateTime, Ordered: true},
	"priority":       {Accepts: KindNumber | KindNull, Ordered: true},
}

func oneOf(values ...string) func(Literal) error {
	return func(l Literal) error {
		for _, v := range values {
			if strings.EqualFold(v, l.Text) {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %v", l.Text, values)
	}
}

// render prints an AST in fully parenthesised prefix form.
func render(e Expr) string {
	switch x := e.(type) {
	case nil:
		return "<all>"
	case *And:
		return "(and " + render(x.Left) + " " + render(x.Right) + ")"
	case *Or:
		return "(or " + render(x.Left) + " " + render(x.Right) + ")"
	case *Not:
		return "(not " + render(x.X) + ")"
	case *Comparison:
		v := x.Value.Text
		switch x.Value.Kind {
		case KindString:
			v = "'" + v + "'"
		case KindDateTime:
			v = x.Value.Time.Format(time.RFC3339Nano)
		case KindNumber:
			v = fmt.Sprint(x.Value.Number)
		}
		return fmt.Sprintf("[%s %s %s]", x.Field, x.Op, v)
	}
	return "?"
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		filter string
		want   string
	}{
		{"", "<all>"},
		{"status eq 'active'", "[status eq 'active']"},
		{"status eq Active", "[status eq Active]"},
		{"assignedTo eq 'o''brien@contoso.com'", "[assignedTo eq 'o'brien@contoso.com']"},
		{"assignedTo eq ''''", "[assignedTo eq ''']"},
		{"assignedTo ne null", "[assignedTo ne null]"},
		{"lastUpdateTime ge 2024-01-01T00:00:00Z", "[lastUpdateTime ge 2024-01-01T00:00:00Z]"},
		{"lastUpdateTime gt 2024-01-01T02:00:00.1234567+02:00", "[lastUpdateTime gt 2024-01-01T00:00:00.1234567Z]"},
		{"lastUpdateTime lt 2024-03-05", "[lastUpdateTime lt 2024-03-05T00:00:00Z]"},
		{"priority le -1.5", "[priority le -1.5]"},
		{"status eq 'active' or status eq 'resolved' and priority gt 3",
			"(or [status eq 'active'] (and [status eq 'resolved'] [priority gt 3]))"},
		{"(status eq 'active' or status eq 'resolved') and priority gt 3",
			"(and (or [status eq 'active'] [status eq 'resolved']) [priority gt 3])"},
		{"not status eq 'active' and not (priority lt 2)", "(and (not [status eq 'active']) (not [priority lt 2]))"},
		{"  status   eq\t'active'  ", "[status eq 'active']"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e, err := ParseFilter(tt.filter, testSchema)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if got := render(e); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct {
		filter  string
		wantMsg string
		wantPos int
	}{
		{"severity eq 'high'", `unknown field "severity"; filterable fields are assignedTo, lastUpdateTime, priority, status`, 0},
		{"status like 'a'", "expected a comparison operator", 7},
		{"status gt 'active'", `operator "gt" is not supported on field "status"`, 7},
		{"status eq 'bogus'", `invalid value for field "status"`, 10},
		{"status eq 'active", "unterminated string literal", 10},
		{"status eq 'active' and", "expected a field name or '(' but found end of input", 22},
		{"(status eq 'active'", "expected ')' but found end of input", 19},
		{"status eq 'active')", "unexpected ')'", 18},
		{"status eq 'active' status eq 'resolved'", "after a complete expression", 19},
		{"lastUpdateTime ge '2024-01-01T00:00:00Z'", `field "lastUpdateTime" takes datetime values, not quoted string`, 18},
		{"lastUpdateTime ge 2024-13-01T00:00:00Z", "neither a number nor an RFC 3339 datetime", 18},
		{"assignedTo eq Bob", `field "assignedTo" takes quoted string or null values, not bare identifier`, 14},
		{"priority gt null", "null can only be compared with eq or ne", 9},
		{"priority eq 0x10", "neither a number", 12},
		{"status eq #", "unexpected character '#'", 10},
		{"eq 'a'", `unknown field "eq"`, 0},
		{"status eq", "expected a value but found end of input", 9},
		{"status EQ 'active'", "expected a comparison operator", 7},
		{strings.Repeat("(", 100) + "status eq 'active'" + strings.Repeat(")", 100), "nested too deeply", 64},
		{strings.Repeat("not ", 100) + "status eq 'active'", "nested too deeply", 256},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			_, err := ParseFilter(tt.filter, testSchema)
			var oe *Error
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want *odata.Error", err)
			}
			if !strings.Contains(oe.Message, tt.wantMsg) || oe.Pos != tt.wantPos || oe.Option != "$filter" {
				t.Errorf("got %q at %d, want %q at %d", oe.Message, oe.Pos, tt.wantMsg, tt.wantPos)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	type row struct {
		status     string
		assignedTo string
		updated    time.Time
	}
	r := row{status: "Active", assignedTo: "o'brien@contoso.com", updated: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}
	unassigned := row{status: "resolved", updated: r.updated}
	compare := func(x row) func(c *Comparison) bool {
		return func(c *Comparison) bool {
			switch c.Field {
			case "status":
				return MatchString(c, x.status, true)
			case "assignedTo":
				return MatchString(c, x.assignedTo, x.assignedTo != "")
			case "lastUpdateTime":
				return MatchTime(c, x.updated)
			}
			return false
		}
	}
	tests := []struct {
		filter string
		row    row
		want   bool
	}{
		{"", r, true},
		{"status eq 'active'", r, true},
		{"status eq ACTIVE", r, true},
		{"status ne 'active'", r, false},
		{"assignedTo eq 'O''BRIEN@contoso.com'", r, true},
		{"assignedTo eq null", r, false},
		{"assignedTo eq null", unassigned, true},
		{"assignedTo ne null", unassigned, false},
		{"assignedTo eq 'x@contoso.com'", unassigned, false},
		{"assignedTo ne 'x@contoso.com'", unassigned, true},
		{"lastUpdateTime ge 2024-05-01T00:00:00Z", r, true},
		{"lastUpdateTime gt 2024-05-01T00:00:00Z", r, false},
		{"lastUpdateTime lt 2024-05-01T00:00:00.0000001Z", r, true},
		{"lastUpdateTime le 2024-04-30T23:59:59.9999999Z", r, false},
		{"not status eq 'active'", r, false},
		{"status eq 'resolved' or assignedTo ne null", r, true},
		{"status eq 'resolved' and assignedTo ne null", r, false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e, err := ParseFilter(tt.filter, testSchema)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if got := Match(e, compare(tt.row)); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseTopAndSkip(t *testing.T) {
	tests := []struct {
		name    string
		parse   func() (int, error)
		want    int
		wantErr string
	}{
		{"top default", func() (int, error) { return ParseTop("", 50, 50) }, 50, ""},
		{"top at limit", func() (int, error) { return ParseTop("50", 10, 50) }, 50, ""},
		{"top zero", func() (int, error) { return ParseTop("0", 10, 50) }, 0, ""},
		{"top over limit", func() (int, error) { return ParseTop("51", 10, 50) }, 0, "The limit of '50' for Top query has been exceeded"},
		{"top negative", func() (int, error) { return ParseTop("-1", 10, 50) }, 0, "Invalid $top"},
		{"top text", func() (int, error) { return ParseTop("ten", 10, 50) }, 0, "Invalid $top"},
		{"top huge", func() (int, error) { return ParseTop("99999999999999999999", 10, 50) }, 0, "Invalid $top"},
		{"skip default", func() (int, error) { return ParseSkip("") }, 0, ""},
		{"skip", func() (int, error) { return ParseSkip("120") }, 120, ""},
		{"skip negative", func() (int, error) { return ParseSkip("-3") }, 0, "Invalid $skip"},
		{"paging defaults", func() (int, error) { top, _, err := ParsePaging(url.Values{}, 25, 50); return top, err }, 25, ""},
		{"paging skip", func() (int, error) { _, skip, err := ParsePaging(url.Values{"$skip": {"7"}}, 25, 50); return skip, err }, 7, ""},
		{"paging empty top", func() (int, error) { top, _, err := ParsePaging(url.Values{"$top": {""}}, 25, 50); return top, err }, 0, "Invalid $top: the value is empty"},
		{"paging empty skip", func() (int, error) { _, skip, err := ParsePaging(url.Values{"$skip": {""}}, 25, 50); return skip, err }, 0, "Invalid $skip: the value is empty"},
		{"paging over max", func() (int, error) { top, _, err := ParsePaging(url.Values{"$top": {"51"}}, 25, 50); return top, err }, 0, "The limit of '50'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"status eq 'a''b'", "(not lastUpdateTime ge 2024-01-01T00:00:00Z)", "priority lt -1e3 or x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s, testSchema)
		if err == nil {
			Match(e, func(*Comparison) bool { return true })
		}
	})
}
