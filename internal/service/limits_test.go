package service

import (
	"errors"
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// TestRequestLimits checks the input limits of the contract: the
// protovalidate rules in proto/defender/v1 (the one source of truth for
// lengths, counts and control characters; the validation interceptor
// enforces them before any handler runs). Each bad request must break
// exactly the rule named, on the field named.
func TestRequestLimits(t *testing.T) {
	update := func(in *defenderv1.Incident, comment string) *defenderv1.UpdateIncidentRequest {
		in.Name = incident1000
		return &defenderv1.UpdateIncidentRequest{Incident: in, UpdateMask: mask("assigned_to", "tags"), Comment: comment}
	}
	list := func(assignedTo string) *defenderv1.ListIncidentsRequest {
		return &defenderv1.ListIncidentsRequest{Parent: "tenants/default", AssignedTo: assignedTo}
	}
	query := func(q, timespan string) *defenderv1.RunQueryRequest {
		return &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: q, Timespan: timespan}
	}
	tags := func(n int, tag string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = tag
		}
		return out
	}
	cases := []struct {
		name      string
		req       proto.Message
		wantField string // "" for a valid request
		wantRule  string
	}{
		{"owner of 256 characters", update(&defenderv1.Incident{AssignedTo: strings.Repeat("é", 256)}, ""), "", ""},
		{"owner of 1 MB", update(&defenderv1.Incident{AssignedTo: strings.Repeat("a", 1<<20)}, ""), "incident.assigned_to", "string.max_len"},
		{"owner of 257 characters", update(&defenderv1.Incident{AssignedTo: strings.Repeat("é", 257)}, ""), "incident.assigned_to", "string.max_len"},
		{"owner with an ANSI escape", update(&defenderv1.Incident{AssignedTo: "\x1b[31malice@contoso.com"}, ""), "incident.assigned_to", "string.single_line"},
		{"owner with NUL", update(&defenderv1.Incident{AssignedTo: "alice\x00@contoso.com"}, ""), "incident.assigned_to", "string.single_line"},
		{"owner with a newline", update(&defenderv1.Incident{AssignedTo: "alice@contoso.com\n"}, ""), "incident.assigned_to", "string.single_line"},
		{"owner with DEL", update(&defenderv1.Incident{AssignedTo: "alice\x7f"}, ""), "incident.assigned_to", "string.single_line"},
		{"owner with a C1 control", update(&defenderv1.Incident{AssignedTo: "alice\u009b31m"}, ""), "incident.assigned_to", "string.single_line"},
		{"owner with a bidi override", update(&defenderv1.Incident{AssignedTo: "alice\u202e"}, ""), "incident.assigned_to", "string.single_line"},
		{"owner with a line separator", update(&defenderv1.Incident{AssignedTo: "alice\u2028"}, ""), "incident.assigned_to", "string.single_line"},
		{"non-ASCII owner", update(&defenderv1.Incident{AssignedTo: "zoë.ßmith@contoso.com"}, ""), "", ""},

		{"50 tags of 128 characters", update(&defenderv1.Incident{Tags: tags(50, strings.Repeat("é", 128))}, ""), "", ""},
		{"51 tags", update(&defenderv1.Incident{Tags: tags(51, "t")}, ""), "incident.tags", "repeated.max_items"},
		{"tag of 129 characters", update(&defenderv1.Incident{Tags: []string{"ok", strings.Repeat("é", 129)}}, ""), "incident.tags[1]", "string.max_len"},
		{"empty tag", update(&defenderv1.Incident{Tags: []string{"ok", ""}}, ""), "incident.tags[1]", "string.min_len"},
		{"tag with a tab", update(&defenderv1.Incident{Tags: []string{"a\tb"}}, ""), "incident.tags[0]", "string.single_line"},
		{"tag with NUL", update(&defenderv1.Incident{Tags: []string{"ok", "ok", "\x00"}}, ""), "incident.tags[2]", "string.single_line"},

		{"etag of 65 characters", update(&defenderv1.Incident{Etag: strings.Repeat("a", 65)}, ""), "incident.etag", "string.max_len"},
		{"etag with a newline", update(&defenderv1.Incident{Etag: "W/\"x\"\n"}, ""), "incident.etag", "string.single_line"},

		{"comment of 4000 characters with lines and tabs", update(&defenderv1.Incident{}, strings.Repeat("é\tx\r\n", 800)), "", ""},
		{"comment of 4001 characters", update(&defenderv1.Incident{}, strings.Repeat("é", 4001)), "comment", "string.max_len"},
		{"comment with an ANSI escape", update(&defenderv1.Incident{}, "done \x1b[2J"), "comment", "string.text"},
		{"comment with NUL", update(&defenderv1.Incident{}, "done\x00"), "comment", "string.text"},
		{"comment with a vertical tab", update(&defenderv1.Incident{}, "a\vb"), "comment", "string.text"},
		{"comment with a C1 control", update(&defenderv1.Incident{}, "a\u0085b"), "comment", "string.text"},
		{"comment with a bidi isolate", update(&defenderv1.Incident{}, "a\u2066b"), "comment", "string.text"},
		{"right-to-left comment", update(&defenderv1.Incident{}, "تم الحل 👍"), "", ""},

		{"owner filter", list("alice@contoso.com"), "", ""},
		{"owner filter of 257 characters", list(strings.Repeat("a", 257)), "assigned_to", "string.max_len"},
		{"owner filter with an ANSI escape", list("\x1b[31m"), "assigned_to", "string.single_line"},
		{"owner filter with NUL", list("a\x00"), "assigned_to", "string.single_line"},

		{"multi-line query", query("AlertInfo\n\t| take 1\r\n", "P1D"), "", ""},
		{"query of 30001 characters", query(strings.Repeat("é", 30001), ""), "query", "string.max_len"},
		{"query with NUL", query("AlertInfo\x00", ""), "query", "string.text"},
		{"query with an escape", query("AlertInfo \x1b[0m", ""), "query", "string.text"},
		{"timespan of 101 characters", query("AlertInfo", strings.Repeat("P", 101)), "timespan", "string.max_len"},
		{"timespan with a newline", query("AlertInfo", "P1D\n"), "timespan", "string.single_line"},

		{"consent state", &defenderv1.GetConsentUrlRequest{Tenant: "tenants/default", State: "a-b_c"}, "", ""},
		{"consent state with a control", &defenderv1.GetConsentUrlRequest{Tenant: "tenants/default", State: "a\rb"}, "state", "string.single_line"},
	}
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Validate(tc.req)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("a valid request was refused: %v", err)
				}
				return
			}
			var verr *protovalidate.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want a violation of %s on %s", err, tc.wantRule, tc.wantField)
			}
			found := false
			for _, viol := range verr.Violations {
				field := protovalidate.FieldPathString(viol.Proto.GetField())
				if field != tc.wantField {
					t.Errorf("unexpected violation on %s: %s (%s)", field, viol.Proto.GetMessage(), viol.Proto.GetRuleId())
					continue
				}
				if viol.Proto.GetRuleId() == tc.wantRule {
					found = true
					if viol.Proto.GetMessage() == "" {
						t.Errorf("violation of %s on %s has no message", tc.wantRule, field)
					}
				}
			}
			if !found {
				t.Errorf("violations %v, want %s on %s", verr.Violations, tc.wantRule, tc.wantField)
			}
		})
	}
}
