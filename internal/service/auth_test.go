package service

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
)

type contextList []authctx.Info

func (l contextList) Contexts() []authctx.Info { return l }

func TestListContexts(t *testing.T) {
	contexts := contextList{
		{Name: "contexts/app", Kind: "app", Tenant: "contoso.com", ClientID: "c1", CredentialKind: "client_secret",
			Backend: defender.BackendGraph, APIURL: "https://graph.microsoft.com/v1.0", AuthorityHost: "https://login.microsoftonline.com", Scope: "https://graph.microsoft.com/.default"},
		{Name: "contexts/partner", Kind: "partner", CredentialKind: "certificate", Backend: defender.BackendXDR},
		{Name: "contexts/user", Kind: "user"},
		{Name: "contexts/new", Kind: "robot", CredentialKind: "federated", Backend: "future"},
	}
	want := &defenderv1.ListContextsResponse{Contexts: []*defenderv1.AuthContext{
		{Name: "contexts/app", Kind: defenderv1.ContextKind_CONTEXT_KIND_APP, Tenant: "contoso.com", ClientId: "c1",
			CredentialKind: defenderv1.CredentialKind_CREDENTIAL_KIND_CLIENT_SECRET, Backend: defenderv1.Backend_BACKEND_GRAPH,
			ApiUrl: "https://graph.microsoft.com/v1.0", AuthorityHost: "https://login.microsoftonline.com", Scope: "https://graph.microsoft.com/.default"},
		{Name: "contexts/partner", Kind: defenderv1.ContextKind_CONTEXT_KIND_PARTNER,
			CredentialKind: defenderv1.CredentialKind_CREDENTIAL_KIND_CERTIFICATE, Backend: defenderv1.Backend_BACKEND_XDR},
		{Name: "contexts/user", Kind: defenderv1.ContextKind_CONTEXT_KIND_USER},
		{Name: "contexts/new"},
	}}
	got, err := NewAuthService(contexts, nil).ListContexts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

func TestListContextsWithoutLister(t *testing.T) {
	got, err := NewAuthService(nil, nil).ListContexts(context.Background(), &defenderv1.ListContextsRequest{})
	if err != nil || len(got.GetContexts()) != 0 {
		t.Errorf("ListContexts = %v, %v; want an empty list", got, err)
	}
}
