package service

import (
	"context"
	"log/slog"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// AuthService implements defenderv1.AuthServiceServer.
type AuthService struct {
	defenderv1.UnimplementedAuthServiceServer

	contexts ContextLister
	errs     errorReporter
}

var _ defenderv1.AuthServiceServer = (*AuthService)(nil)

// NewAuthService returns the auth service.
func NewAuthService(l ContextLister, log *slog.Logger) *AuthService {
	return &AuthService{contexts: l, errs: errorReporter{log: orDiscard(log)}}
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
	link, err := s.contexts.ConsentURL(tenant, req.GetState())
	if err != nil {
		return nil, s.errs.fail(ctx, method, err)
	}
	return &defenderv1.GetConsentUrlResponse{ConsentUrl: link.URL, RedirectUri: link.RedirectURI}, nil
}
