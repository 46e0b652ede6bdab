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
	"github.com/defender-gateway/gateway/internal/defender/credentials"
)

type contextList []authctx.Info

func (l contextList) CheckContexts(context.Context) []authctx.Info { return l }

func (l contextList) ConsentURL(_ context.Context, tenant, state string) (authctx.ConsentLink, error) {
	switch tenant {
	case "fabrikam.example":
		return authctx.ConsentLink{URL: "https://login.example/fabrikam.example/adminconsent?state=" + state, RedirectURI: "https://gw.example/cb"}, nil
	case "unconfigured.example":
		return authctx.ConsentLink{}, defender.Errorf(defender.KindFailedPrecondition, defender.ReasonNotConfigured, "set DEFENDER_CONSENT_REDIRECT_URI")
	}
	return authctx.ConsentLink{}, defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed, "not allowed")
}

func (l contextList) WhoAmI(_ context.Context, tenant string) (authctx.WhoAmI, error) {
	if tenant != "default" {
		return authctx.WhoAmI{}, defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed, "not allowed")
	}
	return authctx.WhoAmI{
		Caller:            "api-key:soc",
		Context:           authctx.Info{Name: "contexts/user/accounts/alice@contoso.com", Kind: "user", Backend: defender.BackendXDR},
		Tenant:            "contoso.com",
		UpstreamIdentity:  "alice@contoso.com",
		Scopes:            []string{"Incident.Read"},
		Expiry:            time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		AllowedOperations: []string{"incidents.read"},
	}, nil
}

func (l contextList) Tenant(_ context.Context, tenant string) (authctx.TenantConfig, error) {
	if tenant != "default" && tenant != "contoso.com" {
		return authctx.TenantConfig{}, defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed, "not allowed")
	}
	return authctx.TenantConfig{Tenant: "contoso.com", AuthorityHost: "https://login.example", Scope: "https://api.example/.default"}, nil
}

// fakeLogins records the tenant of Start and serves one known login.
type fakeLogins struct{ started credentials.LoginTenant }

func (f *fakeLogins) Start(_ context.Context, t credentials.LoginTenant) (credentials.DeviceLogin, error) {
	f.started = t
	return credentials.DeviceLogin{ID: "abc123", Tenant: t.Tenant, State: credentials.DeviceLoginPending, UserCode: "CODE1",
		VerificationURI: "https://login.example/devicelogin", Message: "go there", CreatedAt: time.Unix(100, 0).UTC(), ExpiresAt: time.Unix(1000, 0).UTC()}, nil
}

func (f *fakeLogins) Get(tenant, id string) (credentials.DeviceLogin, error) {
	if id != "abc123" {
		return credentials.DeviceLogin{}, defender.Errorf(defender.KindNotFound, defender.ReasonDeviceLoginNotFound, "no such login")
	}
	return credentials.DeviceLogin{ID: id, Tenant: tenant, State: credentials.DeviceLoginCompleted, Account: "alice@contoso.com"}, nil
}

func TestWhoAmITranslates(t *testing.T) {
	svc := NewAuthService(contextList{}, nil, nil)
	got, err := svc.WhoAmI(context.Background(), &defenderv1.WhoAmIRequest{Tenant: "tenants/default"})
	if err != nil {
		t.Fatal(err)
	}
	want := &defenderv1.WhoAmIResponse{
		Caller: "api-key:soc", Context: "contexts/user/accounts/alice@contoso.com", ContextKind: defenderv1.ContextKind_CONTEXT_KIND_USER,
		Tenant: "contoso.com", UpstreamIdentity: "alice@contoso.com", Scopes: []string{"Incident.Read"},
		TokenExpireTime: timestamppb.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), Backend: defenderv1.Backend_BACKEND_XDR,
		AllowedOperations: []string{"incidents.read"},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("WhoAmI (-want +got):\n%s", diff)
	}
	for tenant, code := range map[string]codes.Code{"tenants/other.example": codes.PermissionDenied, "default": codes.InvalidArgument} {
		if _, err := svc.WhoAmI(context.Background(), &defenderv1.WhoAmIRequest{Tenant: tenant}); status.Code(err) != code {
			t.Errorf("WhoAmI(%s) = %v, want %v", tenant, err, code)
		}
	}
}

func TestDeviceLoginsTranslate(t *testing.T) {
	logins := &fakeLogins{}
	svc := NewAuthService(contextList{}, logins, nil)
	started, err := svc.StartDeviceLogin(context.Background(), &defenderv1.StartDeviceLoginRequest{Tenant: "tenants/default"})
	if err != nil {
		t.Fatal(err)
	}
	if logins.started != (credentials.LoginTenant{Tenant: "contoso.com", AuthorityHost: "https://login.example", Scope: "https://api.example/.default"}) {
		t.Errorf("Start got %+v", logins.started)
	}
	want := &defenderv1.DeviceLogin{Name: "tenants/contoso.com/deviceLogins/abc123", State: defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_PENDING,
		UserCode: "CODE1", VerificationUri: "https://login.example/devicelogin", Message: "go there",
		CreateTime: timestamppb.New(time.Unix(100, 0)), ExpireTime: timestamppb.New(time.Unix(1000, 0))}
	if diff := cmp.Diff(want, started, protocmp.Transform()); diff != "" {
		t.Errorf("StartDeviceLogin (-want +got):\n%s", diff)
	}
	got, err := svc.GetDeviceLogin(context.Background(), &defenderv1.GetDeviceLoginRequest{Name: "tenants/default/deviceLogins/abc123"})
	if err != nil || got.GetState() != defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_COMPLETED || got.GetAccount() != "alice@contoso.com" ||
		got.GetName() != "tenants/contoso.com/deviceLogins/abc123" {
		t.Errorf("GetDeviceLogin = %v, %v", got, err)
	}
	for name, code := range map[string]codes.Code{
		"tenants/default/deviceLogins/nope":    codes.NotFound,
		"tenants/other.example/deviceLogins/x": codes.PermissionDenied,
		"tenants/default/deviceLogins/UPPER":   codes.InvalidArgument,
		"tenants/default/incidents/1":          codes.InvalidArgument,
	} {
		if _, err := svc.GetDeviceLogin(context.Background(), &defenderv1.GetDeviceLoginRequest{Name: name}); status.Code(err) != code {
			t.Errorf("GetDeviceLogin(%s) = %v, want %v", name, err, code)
		}
	}
	// Without device logins configured the RPCs say so.
	_, err = NewAuthService(contextList{}, nil, nil).StartDeviceLogin(context.Background(), &defenderv1.StartDeviceLoginRequest{Tenant: "tenants/default"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("StartDeviceLogin without logins = %v, want FAILED_PRECONDITION", err)
	}
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
	got, err := NewAuthService(contexts, nil, nil).ListContexts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

func TestListContextsWithoutLister(t *testing.T) {
	got, err := NewAuthService(nil, nil, nil).ListContexts(context.Background(), &defenderv1.ListContextsRequest{})
	if err != nil || len(got.GetContexts()) != 0 {
		t.Errorf("ListContexts = %v, %v; want an empty list", got, err)
	}
}

func TestGetConsentUrl(t *testing.T) {
	svc := NewAuthService(contextList{}, nil, nil)
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
