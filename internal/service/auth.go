package service

import (
	"context"
	"log/slog"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// AuthService implements defenderv1.AuthServiceServer.
type AuthService struct {
	defenderv1.UnimplementedAuthServiceServer

	contexts ContextLister
}

var _ defenderv1.AuthServiceServer = (*AuthService)(nil)

// NewAuthService returns the auth service. It takes a logger like the other
// services but has nothing to log: listing contexts cannot fail.
func NewAuthService(l ContextLister, _ *slog.Logger) *AuthService {
	return &AuthService{contexts: l}
}

// ListContexts describes the configured auth contexts, never their
// credentials.
func (s *AuthService) ListContexts(_ context.Context, _ *defenderv1.ListContextsRequest) (*defenderv1.ListContextsResponse, error) {
	resp := &defenderv1.ListContextsResponse{}
	if s.contexts == nil {
		return resp, nil
	}
	for _, info := range s.contexts.Contexts() {
		resp.Contexts = append(resp.Contexts, authContextToProto(info))
	}
	return resp, nil
}
