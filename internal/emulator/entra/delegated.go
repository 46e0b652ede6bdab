package entra

import (
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // derives stable pairwise subjects, not for security.
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// refreshGrant is what a refresh token stands for.
type refreshGrant struct {
	upn, tenantID, clientID string
	revoked                 bool
}

// userGrant issues the answer of a user grant (on-behalf-of, device code,
// refresh): a delegated access token for the one resource of scope carrying
// app's consented delegated permissions on it, a new refresh token, a v2 ID
// token and client_info.
func (s *Server) userGrant(app App, user identity.User, tenantID, scope, host string) (tokenResponse, *oauthError) {
	resource, requested, err := s.delegatedResource(scope, tenantID)
	if err != nil {
		return tokenResponse{}, err
	}
	granted := app.Delegated[resource]
	if !s.registry.Consented(app.ClientID, tenantID) || len(granted) == 0 {
		return tokenResponse{}, errConsentRequired(app)
	}
	for _, p := range requested {
		if !slices.Contains(granted, p) {
			return tokenResponse{}, errConsentRequired(app)
		}
	}
	authorityHost := "https://" + host
	access, expiresIn, signErr := s.issueDelegatedToken(app, user, tenantID, resource, granted, authorityHost)
	var idToken string
	if signErr == nil {
		idToken, signErr = s.issueIDToken(app, user, tenantID, authorityHost)
	}
	if signErr != nil {
		s.log.Error("entra: sign user token", "error", signErr)
		return tokenResponse{}, errTransient()
	}
	s.log.Debug("entra: user token issued", "tenant", tenantID, "client_id", app.ClientID, "resource", resource, "user", user.ObjectID)
	return tokenResponse{
		TokenType:    "Bearer",
		ExpiresIn:    expiresIn,
		ExtExpiresIn: expiresIn,
		AccessToken:  access,
		RefreshToken: s.newRefreshToken(refreshGrant{upn: user.UPN, tenantID: tenantID, clientID: app.ClientID}),
		IDToken:      idToken,
		ClientInfo:   clientInfo(user.ObjectID, tenantID),
	}, nil
}

// delegatedResource returns the one resource the API scopes of a user grant
// name, and the permissions named (nil for "<resource>/.default"). OpenID
// scopes are ignored.
func (s *Server) delegatedResource(scope, tenantID string) (string, []string, *oauthError) {
	var resource string
	var perms []string
	isDefault := false
	for _, sc := range strings.Fields(scope) {
		if slices.Contains(oidcScopes, sc) {
			continue
		}
		i := strings.LastIndex(sc, "/")
		if i <= 0 || i == len(sc)-1 {
			return "", nil, errInvalidScope(scope, "a scope must be <resource>/<permission>")
		}
		res, perm := sc[:i], sc[i+1:]
		if resource != "" && res != resource {
			return "", nil, errInvalidScope(scope, "scopes may name only one resource")
		}
		resource = res
		if perm == ".default" {
			isDefault = true
		} else {
			perms = append(perms, perm)
		}
	}
	switch {
	case resource == "":
		return "", nil, errInvalidScope(scope, "no API scope")
	case isDefault && len(perms) > 0:
		return "", nil, errInvalidScope(scope, ".default cannot be combined with other scopes")
	case !slices.Contains(s.resources, resource):
		return "", nil, errUnknownResource(resource, tenantID)
	}
	return resource, perms, nil
}

// issueDelegatedToken signs a user access token for resource: v2.0 for an
// API registered in the directory (aud its client id), else v1.0 as Entra
// issues for Graph and the Defender APIs.
func (s *Server) issueDelegatedToken(app App, user identity.User, tenantID, resource string, scopes []string, authorityHost string) (string, int64, error) {
	now, expiresIn := s.lifetimeFromNow()
	subject := pairwiseSubject(user.ObjectID, app.ClientID)
	if api, ok := s.registry.APIApp(resource); ok {
		token, err := s.sign(v2Claims{
			Audience: api.ClientID, Issuer: v2Issuer(authorityHost, tenantID),
			IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(s.lifetime).Unix(),
			ID: newGUID(), TenantID: tenantID, AZP: app.ClientID, AZPACR: "0",
			Subject: subject, ObjectID: user.ObjectID, Scope: strings.Join(scopes, " "),
			UPN: user.UPN, PreferredUsername: user.UPN, Name: user.DisplayName,
			IDType: "user", Version: "2.0",
		})
		return token, expiresIn, err
	}
	token, err := s.sign(&accessTokenClaims{
		Audience:  resource,
		Issuer:    accessTokenIssuer(tenantID),
		Subject:   subject,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.lifetime)),
		ID:        newGUID(),
		TenantID:  tenantID,
		AppID:     app.ClientID,
		AppIDACR:  "0",
		AZP:       app.ClientID,
		ObjectID:  user.ObjectID,
		IDType:    "user",
		Scope:     strings.Join(scopes, " "),
		UPN:       user.UPN,
		Name:      user.DisplayName,
		Version:   "1.0",
	})
	return token, expiresIn, err
}

// issueIDToken signs a v2.0 ID token of user for app.
func (s *Server) issueIDToken(app App, user identity.User, tenantID, authorityHost string) (string, error) {
	now, _ := s.lifetimeFromNow()
	return s.sign(v2Claims{
		Audience: app.ClientID, Issuer: v2Issuer(authorityHost, tenantID),
		IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(s.lifetime).Unix(),
		TenantID: tenantID, Subject: pairwiseSubject(user.ObjectID, app.ClientID), ObjectID: user.ObjectID,
		PreferredUsername: user.UPN, Name: user.DisplayName, Version: "2.0",
	})
}

// clientInfo is base64url({"uid": oid, "utid": tid}), from which MSAL builds
// the account's home account id.
func clientInfo(objectID, tenantID string) string {
	raw, _ := json.Marshal(map[string]string{"uid": objectID, "utid": tenantID})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// pairwiseSubject is the `sub` of a user's tokens for one client: stable,
// and different per client, as Entra's pairwise subjects are.
func pairwiseSubject(objectID, clientID string) string {
	sum := sha1.Sum([]byte(objectID + "/" + clientID)) //nolint:gosec // not a security use.
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// newRefreshToken stores g under a new opaque refresh token.
func (s *Server) newRefreshToken(g refreshGrant) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token := "0.emulator." + base64.RawURLEncoding.EncodeToString(b[:])
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	s.refreshTokens[token] = g
	return token
}

// RevokeRefreshTokens revokes every refresh token of the user upn, as
// "revoke sessions" does: later refresh_token grants fail with AADSTS50173.
func (s *Server) RevokeRefreshTokens(upn string) {
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	for token, g := range s.refreshTokens {
		if strings.EqualFold(g.upn, upn) {
			g.revoked = true
			s.refreshTokens[token] = g
		}
	}
}

// redeemRefreshToken removes token (refresh tokens rotate) and returns its
// grant, or why it cannot be used.
func (s *Server) redeemRefreshToken(token, clientID, tenantID string) (refreshGrant, *oauthError) {
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	g, ok := s.refreshTokens[token]
	switch {
	case !ok:
		return refreshGrant{}, errInvalidGrant(70008, "The provided authorization code or refresh token has expired due to inactivity or is not valid. Send a new interactive authorization request for this user and resource.")
	case g.revoked:
		return refreshGrant{}, errInvalidGrant(50173, fmt.Sprintf("The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s'.", "an earlier sign-in"))
	case g.clientID != clientID:
		return refreshGrant{}, errInvalidGrant(70000, "The refresh token was issued to a different client.")
	case g.tenantID != tenantID:
		return refreshGrant{}, errInvalidGrant(70000, "The refresh token was issued for a different tenant.")
	}
	delete(s.refreshTokens, token)
	return g, nil
}
