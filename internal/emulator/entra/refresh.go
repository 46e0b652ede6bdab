package entra

// refreshTokenGrant implements grant_type refresh_token: the refresh token
// is redeemed (refresh tokens rotate) for new tokens of the same user for
// the scope's resource. Public clients need no credential; others
// authenticate as for client credentials.
func (s *Server) refreshTokenGrant(req tokenRequest) (tokenResponse, *oauthError) {
	clientID, token := req.get("client_id"), req.get("refresh_token")
	switch {
	case clientID == "":
		return tokenResponse{}, errMissingParameter("client_id")
	case token == "":
		return tokenResponse{}, errMissingParameter("refresh_token")
	}
	app, ok := s.registry.App(clientID)
	if !ok {
		return tokenResponse{}, errUnknownClient(clientID, req.tenantID)
	}
	if req.get("client_secret") != "" || req.get("client_assertion") != "" {
		if _, _, err := s.authenticateClient(req); err != nil {
			return tokenResponse{}, err
		}
	} else if !app.PublicClient {
		return tokenResponse{}, errMissingCredential()
	}
	if _, _, err := s.delegatedResource(req.get("scope"), req.tenantID); err != nil {
		return tokenResponse{}, err
	}
	grant, err := s.redeemRefreshToken(token, clientID, req.tenantID)
	if err != nil {
		return tokenResponse{}, err
	}
	user, ok := s.registry.User(grant.upn)
	if !ok {
		return tokenResponse{}, errTransient()
	}
	return s.userGrant(app, user, grant.tenantID, req.get("scope"), req.host)
}
