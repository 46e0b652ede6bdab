package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// incidentsPath is where each backend's incident API lives on the emulator.
func incidentsPath(t *testing.T) (api, prefix string) {
	if strings.Contains(t.Name(), "/xdr/") {
		return "xdr", "/api/incidents"
	}
	return "graph", "/v1.0/security/incidents"
}

func TestUpstreamErrorsMapToStatuses(t *testing.T) {
	cases := []struct {
		name       string
		fault      emulator.Fault
		deadline   time.Duration
		code       codes.Code
		reason     string
		retryAfter time.Duration
		// Every fault lasts until removed (Times 0), outlasting the
		// gateway's retries (and net/http's own retry of an idempotent
		// request on a reused connection that dies).
	}{
		{name: "403 forbidden", fault: emulator.Fault{Status: 403}, code: codes.PermissionDenied, reason: "UPSTREAM_PERMISSION_DENIED"},
		// A Retry-After past the caller's deadline is returned at once.
		{name: "429 throttled with Retry-After", fault: emulator.Fault{Status: 429, RetryAfter: 7 * time.Second}, deadline: 3 * time.Second,
			code: codes.ResourceExhausted, reason: "UPSTREAM_THROTTLED", retryAfter: 7 * time.Second},
		{name: "500", fault: emulator.Fault{Status: 500}, code: codes.Unavailable, reason: "UPSTREAM_UNAVAILABLE"},
		{name: "503", fault: emulator.Fault{Status: 503, RetryAfter: 2 * time.Second}, deadline: time.Second,
			code: codes.Unavailable, reason: "UPSTREAM_UNAVAILABLE", retryAfter: 2 * time.Second},
		{name: "connection reset", fault: emulator.Fault{Reset: true}, code: codes.Unavailable, reason: "UPSTREAM_UNAVAILABLE"},
		{name: "401 on the gateway's own token", fault: emulator.Fault{Status: 401}, code: codes.Unavailable, reason: "UPSTREAM_CREDENTIALS_REJECTED"},
		{name: "caller deadline", fault: emulator.Fault{Delay: 3 * time.Second}, deadline: 300 * time.Millisecond, code: codes.DeadlineExceeded},
	}
	forEach(t, func(t *testing.T, g *gateway, c client) {
		api, prefix := incidentsPath(t)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := tc.fault
				f.API, f.PathPrefix, f.Times = api, prefix, 0
				remove := g.emu.InjectFault(f)
				defer remove()
				ctx := context.Background()
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				_, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 5})
				st := wantStatus(t, err, tc.code, tc.reason)
				if tc.retryAfter > 0 {
					if d, ok := retryDelay(st); !ok || d != tc.retryAfter {
						t.Errorf("RetryInfo delay = %v (present %v), want %v", d, ok, tc.retryAfter)
					}
				}
				if strings.Contains(st.Message(), "Bearer") || strings.Contains(st.Message(), "eyJ") {
					t.Errorf("status message leaks a token: %q", st.Message())
				}
			})
		}
	})
}

func TestNotFoundAndRealPermissionErrors(t *testing.T) {
	forEach(t, func(t *testing.T, g *gateway, c client) {
		_, err := c.GetIncident(context.Background(), &defenderv1.GetIncidentRequest{Name: home + "/incidents/999999999"})
		wantStatus(t, err, codes.NotFound, "INCIDENT_NOT_FOUND")
	})
	// A gateway whose app registration may only read: updates and hunting
	// are refused upstream, and the status names the missing permission.
	for _, backend := range backends {
		t.Run(backend+"/read-only app", func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, appConfig(t, emu, backend, identity.ReadOnlyClientID, identity.ReadOnlyClientSecret))
			write, hunt := "SecurityIncident.ReadWrite.All", "ThreatHunting.Read.All"
			if backend == "xdr" {
				write, hunt = "Incident.ReadWrite.All", "AdvancedHunting.Read.All"
			}
			for _, c := range g.clients(t) {
				_, err := c.UpdateIncident(context.Background(), &defenderv1.UpdateIncidentRequest{
					Incident:   &defenderv1.Incident{Name: home + "/incidents/1000", AssignedTo: "x@contoso.com"},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assigned_to"}},
				})
				wantStatus(t, err, codes.PermissionDenied, "UPSTREAM_PERMISSION_DENIED", write)
				_, err = c.RunQuery(context.Background(), &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo | take 1"})
				wantStatus(t, err, codes.PermissionDenied, "UPSTREAM_PERMISSION_DENIED", hunt)
			}
		})
	}
}

func TestBadInputIsRejectedBeforeAnyUpstreamCall(t *testing.T) {
	forEach(t, func(t *testing.T, g *gateway, c client) {
		ctx := context.Background()
		first, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 2})
		mustOK(t, err)
		token := first.GetNextPageToken()
		tampered := []byte(token)
		tampered[len(tampered)/2] ^= 0x01
		if tampered[len(tampered)/2] == token[len(token)/2] {
			t.Fatal("tampering did not change the token")
		}

		type call func() error
		list := func(r *defenderv1.ListIncidentsRequest) call {
			return func() error { _, err := c.ListIncidents(ctx, r); return err }
		}
		update := func(r *defenderv1.UpdateIncidentRequest) call {
			return func() error { _, err := c.UpdateIncident(ctx, r); return err }
		}
		query := func(q string) call {
			return func() error {
				_, err := c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: q})
				return err
			}
		}
		mask := func(p ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: p} }
		name := home + "/incidents/1000"
		cases := []struct {
			name  string
			call  call
			code  codes.Code
			field string
		}{
			{"malformed incident id", func() error {
				_, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: home + "/incidents/12a"})
				return err
			}, codes.InvalidArgument, "name"},
			{"malformed tenant", list(&defenderv1.ListIncidentsRequest{Parent: "tenants/bad_tenant"}), codes.InvalidArgument, "parent"},
			{"page_size too large", list(&defenderv1.ListIncidentsRequest{Parent: home, PageSize: 501}), codes.InvalidArgument, "page_size"},
			{"page_size negative", list(&defenderv1.ListIncidentsRequest{Parent: home, PageSize: -1}), codes.InvalidArgument, "page_size"},
			{"tampered page token", list(&defenderv1.ListIncidentsRequest{Parent: home, PageSize: 2, PageToken: string(tampered)}), codes.InvalidArgument, "page_token"},
			{"page token of another request", list(&defenderv1.ListIncidentsRequest{Parent: home, PageSize: 2, PageToken: token, AssignedTo: "a@contoso.com"}), codes.InvalidArgument, "page_token"},
			{"unspecified status filter", list(&defenderv1.ListIncidentsRequest{Parent: home, Statuses: []defenderv1.IncidentStatus{0}}), codes.InvalidArgument, "statuses"},
			{"empty update", update(&defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: name}}), codes.InvalidArgument, ""},
			{"unknown mask path", update(&defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: name}, UpdateMask: mask("severity")}), codes.InvalidArgument, "update_mask"},
			{"determination not allowed with classification", update(&defenderv1.UpdateIncidentRequest{
				Incident: &defenderv1.Incident{Name: name, Classification: defenderv1.Classification_CLASSIFICATION_TRUE_POSITIVE,
					Determination: defenderv1.Determination_DETERMINATION_CLEAN},
				UpdateMask: mask("classification", "determination")}), codes.InvalidArgument, "incident.determination"},
			{"determination without classification", update(&defenderv1.UpdateIncidentRequest{
				Incident:   &defenderv1.Incident{Name: name, Determination: defenderv1.Determination_DETERMINATION_MALWARE},
				UpdateMask: mask("determination")}), codes.InvalidArgument, ""},
			{"empty query", query(""), codes.InvalidArgument, "query"},
			{"query over the size limit", query("AlertInfo | take 1 " + strings.Repeat(" ", 30000)), codes.InvalidArgument, "query"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := len(g.emu.Requests())
				st := wantStatus(t, tc.call(), tc.code, "")
				if tc.field != "" && !strings.Contains(st.Message(), tc.field) {
					t.Errorf("message %q does not name the field %s", st.Message(), tc.field)
				}
				if after := len(g.emu.Requests()); after != before {
					t.Errorf("bad input reached the upstream: %d requests", after-before)
				}
			})
		}
	})
}

func TestForeignTenantIsRefusedWithoutUpstreamCall(t *testing.T) {
	forEach(t, func(t *testing.T, g *gateway, c client) {
		before := len(g.emu.Requests())
		_, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/fabrikam.onmicrosoft.com"})
		wantStatus(t, err, codes.PermissionDenied, "TENANT_NOT_ALLOWED", "fabrikam.onmicrosoft.com")
		// Reading the domain's public discovery document (to learn its
		// tenant id) is allowed; a token or API request is not.
		for _, r := range g.emu.Requests()[before:] {
			if r.API != emulator.APIEntra || r.Method != http.MethodGet || !strings.HasSuffix(r.Path, "/v2.0/.well-known/openid-configuration") {
				t.Errorf("a refused tenant reached the upstream or the authority: %+v", r)
			}
		}
	})
}

// TestTransientUpstreamFailureIsRetried: one 500, then the upstream
// answers; the caller gets the answer, and the emulator saw both requests.
func TestTransientUpstreamFailureIsRetried(t *testing.T) {
	forEach(t, func(t *testing.T, g *gateway, c client) {
		api, prefix := incidentsPath(t)
		remove := g.emu.InjectFault(emulator.Fault{API: api, PathPrefix: prefix, Status: 500, Times: 1})
		defer remove()
		g.emu.ResetRequests()
		if _, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 5}); err != nil {
			t.Fatalf("ListIncidents: %v, want success after a retry", err)
		}
		var statuses []int
		for _, r := range g.emu.Requests() {
			if r.API == api && strings.HasPrefix(r.Path, prefix) {
				statuses = append(statuses, r.Status)
			}
		}
		if len(statuses) != 2 || statuses[0] != http.StatusInternalServerError || statuses[1] != http.StatusOK {
			t.Errorf("upstream answers = %v, want [500 200]", statuses)
		}
	})
}
