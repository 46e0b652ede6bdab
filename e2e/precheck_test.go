package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
)

// TestTimespanAndIncidentIDsAreCheckedBeforeAnyUpstreamCall: an invalid
// hunting timespan or incident id is INVALID_ARGUMENT naming the field, and
// neither a token request nor an API call is made (the emulator's request
// log, Entra ID included, stays empty).
func TestTimespanAndIncidentIDsAreCheckedBeforeAnyUpstreamCall(t *testing.T) {
	forEach(t, func(t *testing.T, g *gateway, c client) {
		ctx := context.Background()
		query := func(ts string) func() error {
			return func() error {
				_, err := c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo | take 1", Timespan: ts})
				return err
			}
		}
		get := func(id string) func() error {
			return func() error {
				_, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: home + "/incidents/" + id})
				return err
			}
		}
		update := func(id string) func() error {
			return func() error {
				_, err := c.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{
					Incident:   &defenderv1.Incident{Name: home + "/incidents/" + id, AssignedTo: "x@contoso.com"},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assigned_to"}},
				})
				return err
			}
		}
		cases := []struct {
			name  string
			call  func() error
			field string
		}{
			{"timespan in words", query("30 days"), "timespan"},
			{"timespan lower case", query("p30d"), "timespan"},
			{"timespan hours as a date part", query("P1H"), "timespan"},
			{"timespan end before start", query("2024-02-01T00:00:00Z/2024-01-01T00:00:00Z"), "timespan"},
			{"timespan two durations", query("P30D/P1D"), "timespan"},
			{"timespan date without time", query("2024-01-01"), "timespan"},
			{"incident id 0", get("0"), "name"},
			{"incident id with leading zeros", get("01000"), "name"},
			{"incident id beyond int64", get("9223372036854775808"), "name"},
			{"update of incident id 0", update("0"), "incident.name"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				g.emu.ResetRequests()
				st := wantStatus(t, tc.call(), codes.InvalidArgument, "INVALID_ARGUMENT")
				if !strings.HasPrefix(st.Message(), tc.field+": ") || !slices.Contains(fieldViolations(st), tc.field) {
					t.Errorf("status %q %v does not name the field %s", st.Message(), fieldViolations(st), tc.field)
				}
				if reqs := g.emu.Requests(); len(reqs) != 0 {
					t.Errorf("invalid input reached Entra ID or the API: %+v", reqs)
				}
			})
		}
		// A valid timespan reaches Graph; XDR refuses any timespan, still
		// before any call.
		g.emu.ResetRequests()
		err := query("2024-01-01T00:00:00Z/P30D")()
		if g.backend == "xdr" {
			wantStatus(t, err, codes.InvalidArgument, "UNSUPPORTED_BY_BACKEND")
			if reqs := g.emu.Requests(); len(reqs) != 0 {
				t.Errorf("an XDR timespan reached the upstream: %+v", reqs)
			}
			return
		}
		mustOK(t, err)
	})
}

// TestListingAndReadStatusesAreNotIncidentErrors: a 404 on the list
// endpoint is not INCIDENT_NOT_FOUND and a 409/412 on a read or a listing is
// not ETAG_MISMATCH (the gateway sends no precondition).
func TestListingAndReadStatusesAreNotIncidentErrors(t *testing.T) {
	forEach(t, func(t *testing.T, g *gateway, c client) {
		api, prefix := incidentsPath(t)
		ctx := context.Background()
		cases := []struct {
			name   string
			status int
			call   func() error
			code   codes.Code
			reason string
		}{
			{"404 on a listing", http.StatusNotFound, func() error {
				_, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 5})
				return err
			}, codes.NotFound, "UPSTREAM_NOT_FOUND"},
			{"409 on a listing", http.StatusConflict, func() error {
				_, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 5})
				return err
			}, codes.Unavailable, "UPSTREAM_CONFLICT"},
			{"412 on a read", http.StatusPreconditionFailed, func() error {
				_, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: home + "/incidents/1000"})
				return err
			}, codes.Unavailable, "UPSTREAM_CONFLICT"},
			{"404 on a read is the incident", http.StatusNotFound, func() error {
				_, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: home + "/incidents/1000"})
				return err
			}, codes.NotFound, "INCIDENT_NOT_FOUND"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				remove := g.emu.InjectFault(emulator.Fault{API: api, PathPrefix: prefix, Status: tc.status, Times: 1})
				defer remove()
				wantStatus(t, tc.call(), tc.code, tc.reason)
			})
		}
	})
}
