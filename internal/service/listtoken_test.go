package service

import (
	"context"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/caller"
)

// contextResolver names the auth context as the registry does: the user
// context when the caller selects it, else the app context.
type contextResolver struct{ fakeResolver }

func (r contextResolver) Resolve(ctx context.Context, tenant string) (authctx.Target, error) {
	t, err := r.fakeResolver.Resolve(ctx, tenant)
	t.Context.Name = "contexts/app"
	if req := caller.FromContext(ctx); req != nil && req.UsesUserContext() {
		t.Context.Name = "contexts/user/on-behalf-of"
		if req.Account != "" {
			t.Context.Name = "contexts/user/accounts/" + strings.ToLower(req.Account)
		}
	}
	return t, err
}

// TestPageTokensAreBoundToTheCallerAndContext: a page token continues only
// for the caller it was issued to, in the same auth context and, in the
// user context, as the same user; for anyone else it is refused exactly
// like a forged token.
func TestPageTokensAreBoundToTheCallerAndContext(t *testing.T) {
	apiKey := func(name string) caller.Identity {
		return caller.Identity{Kind: caller.KindAPIKey, Name: "api-key:" + name}
	}
	userTok := func(tenant, oid, upn string) *caller.UserToken {
		return &caller.UserToken{Tenant: tenant, ObjectID: oid, UPN: upn}
	}
	soc := &caller.Request{Identity: apiKey("soc-bot")}
	cases := []struct {
		name   string
		issued *caller.Request
		used   *caller.Request
		ok     bool
	}{
		{"the same caller", soc, &caller.Request{Identity: apiKey("soc-bot")}, true},
		{"another API key", soc, &caller.Request{Identity: apiKey("analyst-tool")}, false},
		{"no caller", soc, nil, false},
		{"an app-context token in the user context", soc,
			&caller.Request{Identity: apiKey("soc-bot"), UserToken: userTok("t1", "oid-alice", "alice@contoso.com")}, false},
		{"a user-context token in the app context",
			&caller.Request{Identity: apiKey("soc-bot"), UserToken: userTok("t1", "oid-alice", "alice@contoso.com")}, soc, false},
		{"the same on-behalf-of user",
			&caller.Request{Identity: apiKey("soc-bot"), UserToken: userTok("t1", "oid-alice", "alice@contoso.com")},
			&caller.Request{Identity: apiKey("soc-bot"), UserToken: userTok("T1", "OID-alice", "renamed@contoso.com")}, true},
		{"another on-behalf-of user",
			&caller.Request{Identity: apiKey("soc-bot"), UserToken: userTok("t1", "oid-alice", "alice@contoso.com")},
			&caller.Request{Identity: apiKey("soc-bot"), UserToken: userTok("t1", "oid-bob", "alice@contoso.com")}, false},
		{"another signed-in account",
			&caller.Request{Identity: apiKey("soc-bot"), Account: "alice@contoso.com"},
			&caller.Request{Identity: apiKey("soc-bot"), Account: "bob@contoso.com"}, false},
		{"the same signed-in account",
			&caller.Request{Identity: apiKey("soc-bot"), Account: "alice@contoso.com"},
			&caller.Request{Identity: apiKey("soc-bot"), Account: "Alice@contoso.com"}, true},
		{"a jwt user under another name",
			&caller.Request{Identity: caller.Identity{Kind: caller.KindUser, Name: "user:t1/oid-alice"}, UserToken: userTok("t1", "oid-alice", "a@x")},
			&caller.Request{Identity: caller.Identity{Kind: caller.KindUser, Name: "user:t1/oid-bob"}, UserToken: userTok("t1", "oid-alice", "a@x")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backend := newFakeBackend(5)
			backend.incidents[0].AssignedTo = "a@contoso.com"
			svc, _ := newIncidentService(t, backend)
			svc.resolver = contextResolver{fakeResolver{backend: backend}}
			issuedCtx := caller.NewContext(context.Background(), tc.issued)
			req, token := firstPageIn(t, issuedCtx, svc)
			req.PageToken = token
			usedCtx := context.Background()
			if tc.used != nil {
				usedCtx = caller.NewContext(usedCtx, tc.used)
			}
			calls := backend.callCount()
			_, err := svc.ListIncidents(usedCtx, req)
			if tc.ok {
				if err != nil {
					t.Fatalf("the token was refused: %v", err)
				}
				return
			}
			st := wantFieldError(t, err, "page_token")
			if st.Message() != "page_token: "+invalidPageToken {
				t.Errorf("message = %q, want the forged token's", st.Message())
			}
			if n := backend.callCount() - calls; n != 0 {
				t.Errorf("the backend was called %d times", n)
			}
		})
	}
}
