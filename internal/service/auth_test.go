package service

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
)

type contextList []authctx.Info

func (l contextList) CheckContexts(context.Context) []authctx.Info { return l }

func (l contextList) ConsentURL(tenant, state string) (authctx.ConsentLink, error) {
	switch tenant {
	case "fabrikam.example":
		return authctx.ConsentLink{URL: "https://login.example/fabrikam.example/adminconsent?state=" + state, RedirectURI: "https://gw.example/cb"}, nil
	case "unconfigured.example":
		return authctx.ConsentLink{}, defender.Errorf(defender.KindFailedPrecondition, defender.ReasonNotConfigured, "set DEFENDER_CONSENT_REDIRECT_URI")
	}
	return authctx.ConsentLink{}, defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed, "not allowed")
}

func TestListContexts(t *testing.T) {
	checked := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	contexts := contextList{
		{Name: "contexts/app", Kind: "app", Tenant: "contoso.com", ClientID: "c1", CredentialKind: "client_secret",
			Backend: defender.BackendGraph, APIURL: "https://graph.microsoft.com/v1.0", AuthorityHost: "https://login.microsoftonline.com", Scope: "https://graph.microsoft.com/.default"},
		{Name: "contexts/partner/tenants/fabrikam.example", Kind: "partner", CredentialKind: "certificate", Backend: defender.BackendXDR,
			DisplayName: "Fabrikam", TokenStatus: authctx.TokenConsentRequired, TokenStatusDetail: "consent missing", TokenCheckTime: checked},
		{Name: "contexts/user", Kind: "user"},
		{Name: "contexts/new", Kind: "robot", CredentialKind: "federated", Backend: "future"},
	}
	want := &defenderv1.ListContextsResponse{Contexts: []*defenderv1.AuthContext{
		{Name: "contexts/app", Kind: defenderv1.ContextKind_CONTEXT_KIND_APP, Tenant: "contoso.com", ClientId: "c1",
			CredentialKind: defenderv1.CredentialKind_CREDENTIAL_KIND_CLIENT_SECRET, Backend: defenderv1.Backend_BACKEND_GRAPH,
			ApiUrl: "https://graph.microsoft.com/v1.0", AuthorityHost: "https://login.microsoftonline.com", Scope: "https://graph.microsoft.com/.default"},
		{Name: "contexts/partner/tenants/fabrikam.example", Kind: defenderv1.ContextKind_CONTEXT_KIND_PARTNER,
			CredentialKind: defenderv1.CredentialKind_CREDENTIAL_KIND_CERTIFICATE, Backend: defenderv1.Backend_BACKEND_XDR,
			DisplayName: "Fabrikam", TokenStatus: defenderv1.TokenStatus_TOKEN_STATUS_CONSENT_REQUIRED, TokenStatusDetail: "consent missing",
			TokenCheckTime: timestamppb.New(checked)},
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

func TestGetConsentUrl(t *testing.T) {
	svc := NewAuthService(contextList{}, nil)
	tests := []struct {
		name, tenant string
		want         codes.Code
		wantURL      string
	}{
		{name: "allowed", tenant: "tenants/fabrikam.example", want: codes.OK, wantURL: "https://login.example/fabrikam.example/adminconsent?state=s1"},
		{name: "not allowed", tenant: "tenants/other.example", want: codes.PermissionDenied},
		{name: "no redirect URI", tenant: "tenants/unconfigured.example", want: codes.FailedPrecondition},
		{name: "malformed", tenant: "fabrikam.example", want: codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := svc.GetConsentUrl(context.Background(), &defenderv1.GetConsentUrlRequest{Tenant: tt.tenant, State: "s1"})
			if code := status.Code(err); code != tt.want {
				t.Fatalf("code = %v (%v), want %v", code, err, tt.want)
			}
			if got.GetConsentUrl() != tt.wantURL {
				t.Errorf("consent_url = %q, want %q", got.GetConsentUrl(), tt.wantURL)
			}
			if err == nil && got.GetRedirectUri() != "https://gw.example/cb" {
				t.Errorf("redirect_uri = %q", got.GetRedirectUri())
			}
		})
	}
}

func TestToStatusCarriesConsentLink(t *testing.T) {
	const u = "https://login.example/t.example/adminconsent?client_id=c1"
	e := &defender.Error{Kind: defender.KindFailedPrecondition, Reason: defender.ReasonConsentRequired, Message: "no consent",
		UpstreamStatus: 400, Metadata: map[string]string{"consent_url": u, "upstream_status": "spoofed"},
		Links: []defender.Link{{Description: "Admin consent", URL: u}}}
	st := ToStatus(e)
	if st.Code() != codes.FailedPrecondition || st.Message() != "no consent" {
		t.Fatalf("status = %v %q", st.Code(), st.Message())
	}
	var info *errdetails.ErrorInfo
	var help *errdetails.Help
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.Help:
			help = d
		}
	}
	if info.GetReason() != "CONSENT_REQUIRED" || info.GetMetadata()["consent_url"] != u || info.GetMetadata()["upstream_status"] != "400" {
		t.Errorf("ErrorInfo = %v", info)
	}
	if len(help.GetLinks()) != 1 || help.GetLinks()[0].GetUrl() != u {
		t.Errorf("Help = %v", help)
	}
	if st := ToStatus(defender.Errorf(defender.KindFailedPrecondition, defender.ReasonEtagMismatch, "stale")); len(st.Details()) != 1 {
		t.Errorf("an error without links has %d details, want only ErrorInfo", len(st.Details()))
	}
}
