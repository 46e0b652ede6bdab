package service

import (
	"context"
	"log/slog"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/credentials"
)

// AuthService implements defenderv1.AuthServiceServer.
type AuthService struct {
	defenderv1.UnimplementedAuthServiceServer

	contexts ContextLister
	logins   DeviceLogins
	errs     errorReporter
}

var _ defenderv1.AuthServiceServer = (*AuthService)(nil)

// NewAuthService returns the auth service; logins nil disables device-code
// sign-in.
func NewAuthService(l ContextLister, logins DeviceLogins, log *slog.Logger) *AuthService {
	return &AuthService{contexts: l, logins: logins, errs: errorReporter{log: orDiscard(log)}}
}

// ListContexts describes the configured auth contexts with whether a token
// can currently be obtained in each (checked on demand, cached briefly),
// never their credentials or tokens.
func (s *AuthService) ListContexts(ctx context.Context, _ *defenderv1.ListContextsRequest) (*defenderv1.ListContextsResponse, error) {
	resp := &defenderv1.ListContextsResponse{}
	if s.contexts == nil {
		return resp, nil
	}
	for _, info := range s.contexts.CheckContexts(ctx) {
		resp.Contexts = append(resp.Contexts, authContextToProto(info))
	}
	return resp, nil
}

// GetConsentUrl builds the admin-consent URL of an allow-listed partner
// tenant. It makes no upstream request.
func (s *AuthService) GetConsentUrl(ctx context.Context, req *defenderv1.GetConsentUrlRequest) (*defenderv1.GetConsentUrlResponse, error) {
	const method = "GetConsentUrl"
	tenant, err := parseTenantName("tenant", req.GetTenant())
	if err != nil {
		return nil, err
	}
	if s.contexts == nil {
		return nil, s.errs.fail(ctx, method, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "no contexts are configured"))
	}
	link, err := s.contexts.ConsentURL(ctx, tenant, req.GetState())
	if err != nil {
		return nil, s.errs.fail(ctx, method, err)
	}
	return &defenderv1.GetConsentUrlResponse{ConsentUrl: link.URL, RedirectUri: link.RedirectURI}, nil
}

// WhoAmI reports what a Defender call of this request on the tenant would
// run as, from the claims of the chosen context's token (never the token).
func (s *AuthService) WhoAmI(ctx context.Context, req *defenderv1.WhoAmIRequest) (*defenderv1.WhoAmIResponse, error) {
	const method = "WhoAmI"
	tenant, err := parseTenantName("tenant", req.GetTenant())
	if err != nil {
		return nil, err
	}
	if s.contexts == nil {
		return nil, s.errs.fail(ctx, method, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "no contexts are configured"))
	}
	w, err := s.contexts.WhoAmI(ctx, tenant)
	if err != nil {
		return nil, s.errs.fail(ctx, method, err)
	}
	if r := caller.FromContext(ctx); r != nil {
		r.Trace().SetTarget(w.Context.Name, w.Tenant)
	}
	return whoAmIToProto(w), nil
}

// StartDeviceLogin starts a device-code sign-in in the tenant and answers
// with the code at once; the sign-in completes in the background.
func (s *AuthService) StartDeviceLogin(ctx context.Context, req *defenderv1.StartDeviceLoginRequest) (*defenderv1.DeviceLogin, error) {
	const method = "StartDeviceLogin"
	tenant, err := parseTenantName("tenant", req.GetTenant())
	if err != nil {
		return nil, err
	}
	tc, err := s.loginTenant(ctx, tenant)
	if err != nil {
		return nil, s.errs.fail(ctx, method, err)
	}
	login, err := s.logins.Start(ctx, credentials.LoginTenant{Tenant: tc.Tenant, AuthorityHost: tc.AuthorityHost, Scope: tc.Scope})
	if err != nil {
		return nil, s.errs.fail(ctx, method, err)
	}
	return deviceLoginToProto(login), nil
}

// GetDeviceLogin reports a device-code sign-in.
func (s *AuthService) GetDeviceLogin(ctx context.Context, req *defenderv1.GetDeviceLoginRequest) (*defenderv1.DeviceLogin, error) {
	const method = "GetDeviceLogin"
	tenant, id, err := parseDeviceLoginName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	tc, err := s.loginTenant(ctx, tenant)
	if err != nil {
		return nil, s.errs.fail(ctx, method, err)
	}
	login, err := s.logins.Get(tc.Tenant, id)
	if err != nil {
		return nil, s.errs.fail(ctx, method, err)
	}
	return deviceLoginToProto(login), nil
}

// loginTenant resolves a served tenant for a device login.
func (s *AuthService) loginTenant(ctx context.Context, tenant string) (authctx.TenantConfig, error) {
	if s.contexts == nil || s.logins == nil {
		return authctx.TenantConfig{}, defender.Errorf(defender.KindFailedPrecondition, defender.ReasonNotConfigured, "device-code sign-in is not configured")
	}
	tc, err := s.contexts.Tenant(ctx, tenant)
	if err != nil {
		return authctx.TenantConfig{}, err
	}
	if r := caller.FromContext(ctx); r != nil {
		r.Trace().SetTarget("", tc.Tenant)
	}
	return tc, nil
}
