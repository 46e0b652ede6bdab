package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// TestInputLimits: every string that goes upstream has a maximum length and
// refuses control characters. An oversized or control-laden value is
// INVALID_ARGUMENT naming the field and the rule, with a BadRequest detail,
// and nothing reaches Entra ID or the API. The checks run before a backend
// is chosen, so one backend is enough.
func TestInputLimits(t *testing.T) {
	emu := startEmulator(t)
	g := startGateway(t, emu, sandboxConfig(t, emu, "graph"))
	name := home + "/incidents/1000"
	update := func(in *defenderv1.Incident, comment string, paths ...string) *defenderv1.UpdateIncidentRequest {
		in.Name = name
		return &defenderv1.UpdateIncidentRequest{Incident: in, UpdateMask: mask(paths...), Comment: comment}
	}
	manyTags := make([]string, 51)
	for i := range manyTags {
		manyTags[i] = "t"
	}
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			ctx := context.Background()
			cases := []struct {
				name    string
				call    func() error
				field   string
				message string // a fragment of the rule's message
			}{
				{"assigned_to of 1 MB (gRPC) or 512 KiB (REST, under the body cap)", func() error {
					n := 1 << 20
					if c.name() == "rest" {
						n = 512 << 10 // a 1 MB body is refused by the body cap: TestRESTBodyCap
					}
					_, err := c.UpdateIncident(ctx, update(&defenderv1.Incident{AssignedTo: strings.Repeat("a", n)}, "", "assigned_to"))
					return err
				}, "incident.assigned_to", "at most 256 characters"},
				{"assigned_to with an ANSI escape", func() error {
					_, err := c.UpdateIncident(ctx, update(&defenderv1.Incident{AssignedTo: "\x1b[31malice@contoso.com"}, "", "assigned_to"))
					return err
				}, "incident.assigned_to", "control characters"},
				{"assigned_to with NUL", func() error {
					_, err := c.UpdateIncident(ctx, update(&defenderv1.Incident{AssignedTo: "alice@contoso.com\x00"}, "", "assigned_to"))
					return err
				}, "incident.assigned_to", "control characters"},
				{"51 tags", func() error {
					_, err := c.UpdateIncident(ctx, update(&defenderv1.Incident{Tags: manyTags}, "", "tags"))
					return err
				}, "incident.tags", "no more than 50"},
				{"a tag of 129 characters", func() error {
					_, err := c.UpdateIncident(ctx, update(&defenderv1.Incident{Tags: []string{"ok", strings.Repeat("é", 129)}}, "", "tags"))
					return err
				}, "incident.tags[1]", "at most 128 characters"},
				{"a tag with a newline", func() error {
					_, err := c.UpdateIncident(ctx, update(&defenderv1.Incident{Tags: []string{"a\nb"}}, "", "tags"))
					return err
				}, "incident.tags[0]", "control characters"},
				{"a comment of 4001 characters", func() error {
					_, err := c.UpdateIncident(ctx, update(&defenderv1.Incident{}, strings.Repeat("é", 4001)))
					return err
				}, "comment", "at most 4000 characters"},
				{"a comment with an ANSI escape", func() error {
					_, err := c.UpdateIncident(ctx, update(&defenderv1.Incident{}, "closed \x1b[2J"))
					return err
				}, "comment", "control characters"},
				{"an assigned_to filter with a control character", func() error {
					_, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, AssignedTo: "alice\x07@contoso.com"})
					return err
				}, "assigned_to", "control characters"},
				{"an assigned_to filter of 257 characters", func() error {
					_, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, AssignedTo: strings.Repeat("a", 257)})
					return err
				}, "assigned_to", "at most 256 characters"},
				{"a page token with skipped line breaks", func() error {
					// The base64 decoder skips CR and LF: such a token once
					// decoded short and panicked the codec.
					_, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home,
						PageToken: "000\r\r\r\r\r" + strings.Repeat("0", 39)})
					return err
				}, "page_token", "invalid"},
				{"a query with NUL", func() error {
					_, err := c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo\x00 | take 1"})
					return err
				}, "query", "control characters"},
				{"a timespan with a newline", func() error {
					_, err := c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo | take 1", Timespan: "P1D\n"})
					return err
				}, "timespan", "control characters"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					emu.ResetRequests()
					st := wantStatus(t, tc.call(), codes.InvalidArgument, "INVALID_ARGUMENT", tc.field+": ", tc.message)
					if fields := violatedFields(st); !slices.Contains(fields, tc.field) {
						t.Errorf("BadRequest fields %q, want %s", fields, tc.field)
					}
					for _, internal := range []string{"this.matches", "cel", "protovalidate", "rpc error"} {
						if strings.Contains(st.Message(), internal) {
							t.Errorf("message %q leaks %q", st.Message(), internal)
						}
					}
					if len(st.Message()) > 1024 {
						t.Errorf("the message is %d bytes: it must not echo the value", len(st.Message()))
					}
					if calls := upstreamCalls(emu); len(calls) != 0 {
						t.Errorf("refused input reached Entra ID or the API: %+v", calls)
					}
				})
			}

			// The limits leave ordinary text alone: a multi-line comment
			// with tabs, non-ASCII owners and tags at the limits go through.
			emu.ResetRequests()
			tags := make([]string, 50)
			for i := range tags {
				tags[i] = strings.Repeat("é", 127) + string(rune('a'+i%26))
			}
			got, err := c.UpdateIncident(ctx, update(&defenderv1.Incident{AssignedTo: "zoë.müller@contoso.com", Tags: tags},
				"Contained.\n\tHost isolated; تم الحل.\r\n", "assigned_to", "tags"))
			mustOK(t, err)
			if got.GetAssignedTo() != "zoë.müller@contoso.com" || len(got.GetTags()) != 50 {
				t.Errorf("the update did not apply: assigned_to %q, %d tags", got.GetAssignedTo(), len(got.GetTags()))
			}
			if len(upstreamCalls(emu)) == 0 {
				t.Error("the valid update made no upstream call")
			}
		})
	}
}

func violatedFields(st *status.Status) []string {
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}
