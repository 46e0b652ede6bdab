package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// faultIncident is the incident the fault tests read and comment on.
const faultIncident = "1000"

// faultFlags make the fault tests quick: short backoffs, a 500 ms hold
// after a 429 that names no wait, and a per-attempt upstream timeout short
// enough that a stalled request is given up and retried within a call.
var faultFlags = []string{
	"--retry-base-delay", "20ms",
	"--retry-max-delay", "2s",
	"--quota-default-hold", "500ms",
	"--upstream-timeout", "1s",
}

// startFaultGateway starts an emulator and a gateway on backend with
// faultFlags (and the harness's roomy budgets), for one fault case: the
// holds a 429 leaves in the scheduler then cannot reach another case.
func startFaultGateway(t *testing.T, backend string, extra ...string) *gateway {
	t.Helper()
	emu := startEmulator(t)
	args := append([]string{"--quota-file", roomyQuotaFile(t)}, faultFlags...)
	args = append(args, extra...)
	return startGateway(t, emu, appConfig(t, emu, backend, identity.ClientID, identity.ClientSecret, args...))
}

// upstreamRoute is one upstream request the gateway makes, as the
// emulator sees it.
type upstreamRoute struct {
	api, method, prefix string
}

// fault returns f aimed at the route.
func (r upstreamRoute) fault(f emulator.Fault) emulator.Fault {
	f.API, f.Method, f.PathPrefix = r.api, r.method, r.prefix
	return f
}

// statuses returns the statuses of the emulator's answers on r, oldest
// first (0: no answer, a reset or a request the client gave up on). The
// emulator logs a request when its handler returns, so a given-up request
// may be logged after the next: wait for want requests (up to 5 s)
// before reading.
func (r upstreamRoute) statuses(emu *emulator.Emulator, want int) []int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got []int
		for _, req := range emu.Requests() {
			if req.API == r.api && req.Method == r.method && strings.HasPrefix(req.Path, r.prefix) {
				got = append(got, req.Status)
			}
		}
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// faultOp is one kind of caller call and the upstream request it makes.
type faultOp struct {
	name  string
	route func(backend string) upstreamRoute
	call  func(ctx context.Context, c client) error
}

// comments counts marks every update's comment unique, so that the
// comment checks of one gateway cannot match another case's comment.
var comments atomic.Int64

func uniqueComment(what string) string {
	return fmt.Sprintf("fault test %d: %s", comments.Add(1), what)
}

var (
	opList = faultOp{name: "list",
		route: func(backend string) upstreamRoute {
			if backend == "xdr" {
				return upstreamRoute{"xdr", http.MethodGet, "/api/incidents"}
			}
			return upstreamRoute{"graph", http.MethodGet, "/v1.0/security/incidents"}
		},
		call: func(ctx context.Context, c client) error {
			_, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 5})
			return err
		}}
	opGet = faultOp{name: "get",
		route: func(backend string) upstreamRoute {
			if backend == "xdr" {
				return upstreamRoute{"xdr", http.MethodGet, "/api/incidents/" + faultIncident}
			}
			return upstreamRoute{"graph", http.MethodGet, "/v1.0/security/incidents/" + faultIncident}
		},
		call: func(ctx context.Context, c client) error {
			_, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: home + "/incidents/" + faultIncident})
			return err
		}}
	opHunt = faultOp{name: "hunting",
		route: func(backend string) upstreamRoute {
			if backend == "xdr" {
				return upstreamRoute{"xdr", http.MethodPost, "/api/advancedhunting/run"}
			}
			return upstreamRoute{"graph", http.MethodPost, "/v1.0/security/runHuntingQuery"}
		},
		call: func(ctx context.Context, c client) error {
			_, err := c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo | take 1"})
			return err
		}}
	// opAssign is an update without a comment: an absolute PATCH, safe to
	// send again.
	opAssign = faultOp{name: "update",
		route: func(backend string) upstreamRoute {
			if backend == "xdr" {
				return upstreamRoute{"xdr", http.MethodPatch, "/api/incidents/" + faultIncident}
			}
			return upstreamRoute{"graph", http.MethodPatch, "/v1.0/security/incidents/" + faultIncident}
		},
		call: func(ctx context.Context, c client) error {
			_, err := c.UpdateIncident(ctx, assignRequest("", ""))
			return err
		}}
)

// commentRoute is where a backend's comment goes upstream: Graph posts it
// on its own, XDR sends it in the incident's PATCH.
func commentRoute(backend string) upstreamRoute {
	if backend == "xdr" {
		return upstreamRoute{"xdr", http.MethodPatch, "/api/incidents/" + faultIncident}
	}
	return upstreamRoute{"graph", http.MethodPost, "/v1.0/security/incidents/" + faultIncident + "/comments"}
}

// assignRequest assigns faultIncident, with comment when not "".
func assignRequest(assignee, comment string) *defenderv1.UpdateIncidentRequest {
	if assignee == "" {
		assignee = "faults@contoso.com"
	}
	return &defenderv1.UpdateIncidentRequest{
		Incident:   &defenderv1.Incident{Name: home + "/incidents/" + faultIncident, AssignedTo: assignee},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assigned_to"}},
		Comment:    comment,
	}
}

// commentCount is how many of inc's comments have text.
func commentCount(inc *defenderv1.Incident, text string) int {
	return len(slices.DeleteFunc(slices.Clone(inc.GetComments()), func(c *defenderv1.Comment) bool { return c.GetText() != text }))
}

// withDeadline is ctx with a deadline d from now, or ctx when d is 0.
func withDeadline(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	if d == 0 {
		return context.Background()
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
