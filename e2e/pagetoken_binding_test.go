package e2e

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// twoReadersPolicy lets two API-key callers read the home tenant.
const twoReadersPolicy = `
callers:
  - identity: api-key:soc-bot
    tenants: [default]
    operations: [incidents.read]
  - identity: api-key:analyst-tool
    tenants: [default]
    operations: [incidents.read]
`

// TestPageTokensAreBoundToTheCaller: a page token continues a listing only
// for the caller it was issued to, in the same auth context and as the same
// user. Anyone else gets the forged token's INVALID_ARGUMENT on page_token,
// which says nothing about whom the token belongs to.
func TestPageTokensAreBoundToTheCaller(t *testing.T) {
	emu := startEmulator(t)
	policy := writeFile(t, "policy.yaml", twoReadersPolicy)
	g := startGateway(t, emu, partnerConfig(t, emu, "graph",
		"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t), "--policy-file", policy))
	soc := withHeaders(context.Background(), "x-api-key", socKey)
	analyst := withHeaders(context.Background(), "x-api-key", analystKey)
	alice := asUser(soc, userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN}))
	bob := asUser(soc, userToken(t, emu, emulator.UserTokenSpec{UPN: identity.BobUPN}))
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			first := func(ctx context.Context) *defenderv1.ListIncidentsRequest {
				t.Helper()
				resp, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 3})
				mustOK(t, err)
				if resp.GetNextPageToken() == "" {
					t.Fatal("no next page token")
				}
				return &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 3, PageToken: resp.GetNextPageToken()}
			}
			refused := func(ctx context.Context, next *defenderv1.ListIncidentsRequest) {
				t.Helper()
				_, err := c.ListIncidents(ctx, next)
				wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "page_token: invalid or does not match this request")
			}

			socNext := first(soc)
			emu.ResetRequests()
			refused(analyst, socNext)
			if calls := upstreamCalls(emu); len(calls) != 0 {
				t.Errorf("a refused token reached Entra ID or the API: %+v", calls)
			}
			// An app-context token is refused in the user context, for the
			// very same caller.
			refused(alice, socNext)
			if _, err := c.ListIncidents(soc, socNext); err != nil {
				t.Errorf("soc-bot could not continue its own listing: %v", err)
			}

			aliceNext := first(alice)
			refused(soc, aliceNext)
			refused(bob, aliceNext)
			refused(withHeaders(analyst, "authorization", "Bearer "+userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN})), aliceNext)
			// A fresh token of the same user continues the listing.
			again := asUser(soc, userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN}))
			if _, err := c.ListIncidents(again, aliceNext); err != nil {
				t.Errorf("alice could not continue her listing with a new token: %v", err)
			}
		})
	}
}

// TestWatchCursorsAreBoundToTheCaller: a watch cursor resumes a watch only
// for the caller it was issued to, in the same auth context and as the
// same user, exactly as page tokens; a user-context watch runs as its user.
func TestWatchCursorsAreBoundToTheCaller(t *testing.T) {
	emu := startEmulator(t)
	policy := writeFile(t, "policy.yaml", twoReadersPolicy)
	g := startGateway(t, emu, partnerConfig(t, emu, "graph", append([]string{
		"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t), "--policy-file", policy}, watchFlags...)...))
	soc := withHeaders(context.Background(), "x-api-key", socKey)
	analyst := withHeaders(context.Background(), "x-api-key", analystKey)
	alice := asUser(soc, userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN}))
	cursorOf := func(ctx context.Context) string {
		t.Helper()
		w := watchGRPCAs(t, ctx, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: home})
		w.heartbeat(t)
		w.cancel()
		return w.cursor
	}
	refused := func(ctx context.Context, cursor string) {
		t.Helper()
		w := watchGRPCAs(t, ctx, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: home, Cursor: cursor})
		wantStatus(t, w.ended(t), codes.InvalidArgument, "INVALID_ARGUMENT", "cursor: invalid or does not match this request")
	}
	socCursor := cursorOf(soc)
	refused(analyst, socCursor)
	refused(alice, socCursor)
	aliceCursor := cursorOf(alice)
	refused(soc, aliceCursor)
	refused(asUser(soc, userToken(t, emu, emulator.UserTokenSpec{UPN: identity.BobUPN})), aliceCursor)
	for name, resume := range map[string]struct {
		ctx    context.Context
		cursor string
	}{"soc-bot": {soc, socCursor}, "alice": {asUser(soc, userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN})), aliceCursor}} {
		w := watchGRPCAs(t, resume.ctx, g.grpcAddr, &defenderv1.WatchIncidentsRequest{Parent: home, Cursor: resume.cursor})
		if w.heartbeat(t) == nil {
			t.Errorf("%s could not resume its own watch", name)
		}
	}
}
