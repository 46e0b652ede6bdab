package entra

import (
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// onBehalfOf implements the on-behalf-of grant (grant_type jwt-bearer,
// requested_token_use=on_behalf_of): authenticate the middle-tier app, check
// the user's token in assertion and issue a delegated token for the scope's
// resource.
func (s *Server) onBehalfOf(req tokenRequest) (tokenResponse, *oauthError) {
	app, _, err := s.authenticateClient(req)
	if err != nil {
		return tokenResponse{}, err
	}
	switch use := req.get("requested_token_use"); use {
	case "on_behalf_of":
	case "":
		return tokenResponse{}, errMissingParameter("requested_token_use")
	default:
		return tokenResponse{}, errMalformedRequest(fmt.Sprintf("requested_token_use '%s' is not supported; use on_behalf_of.", use))
	}
	assertion := req.get("assertion")
	if assertion == "" {
		return tokenResponse{}, errMissingParameter("assertion")
	}
	user, err := s.checkUserAssertion(assertion, app, req.tenantID, req.host)
	if err != nil {
		return tokenResponse{}, err
	}
	return s.userGrant(app, user, req.tenantID, req.get("scope"), req.host)
}

// userAssertionClaims are the claims of a v1.0 or v2.0 user access token
// the on-behalf-of grant reads.
type userAssertionClaims struct {
	jwt.RegisteredClaims
	TenantID          string   `json:"tid"`
	Scope             string   `json:"scp"`
	Roles             []string `json:"roles"`
	UPN               string   `json:"upn"`
	PreferredUsername string   `json:"preferred_username"`
	IDType            string   `json:"idtyp"`
}

// checkUserAssertion verifies the user token app presents: signed by this
// authority, within its lifetime, issued to app (aud its client id or app ID
// URI), a user token, of the request's tenant and issued by it (v1.0 or
// v2.0 issuer), for a user of the directory.
func (s *Server) checkUserAssertion(assertion string, app App, tenantID, host string) (identity.User, *oauthError) {
	var c userAssertionClaims
	err := s.parseSigned(assertion, &c)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		return identity.User{}, errInvalidGrant(500133, fmt.Sprintf(
			"Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: %s.",
			s.now().UTC().Format("2006-01-02T15:04:05.0000000Z")))
	case err != nil:
		return identity.User{}, errInvalidGrant(50013, "Assertion failed signature validation. [Reason - The key was not found or the signature does not match.]")
	}
	audiences := []string{app.ClientID, "api://" + app.ClientID}
	audOK := false
	for _, a := range c.Audience {
		if containsFold(audiences, a) {
			audOK = true
		}
	}
	if !audOK {
		return identity.User{}, errInvalidGrant(50013, fmt.Sprintf(
			"Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '%s' and the expected audience is '%s' or one of the Application Uris of this application with App ID '%s'(%s).",
			strings.Join(c.Audience, ","), app.ClientID, app.ClientID, app.Name))
	}
	upn := c.UPN
	if upn == "" {
		upn = c.PreferredUsername
	}
	if c.Scope == "" || upn == "" || c.IDType == "app" {
		return identity.User{}, errInvalidGrant(50013, "Assertion is not a user token: it carries no scp and upn claims. An app-only token cannot be exchanged on behalf of a user.")
	}
	if c.TenantID != tenantID {
		return identity.User{}, errInvalidGrant(50013, fmt.Sprintf(
			"Assertion was issued for tenant '%s', not for the tenant '%s' of the request.", c.TenantID, tenantID))
	}
	trusted := []string{accessTokenIssuer(tenantID), v2Issuer("https://"+host, tenantID)}
	if s.authorityHost != "" {
		trusted = append(trusted, v2Issuer(s.authorityHost, tenantID))
	}
	if !containsFold(trusted, c.Issuer) {
		return identity.User{}, errInvalidGrant(50013, fmt.Sprintf("Assertion issuer '%s' is not a trusted issuer of tenant '%s'.", c.Issuer, tenantID))
	}
	user, ok := s.registry.User(upn)
	if !ok || user.TenantID != tenantID {
		return identity.User{}, errInvalidGrant(50034, fmt.Sprintf(
			"The user account {EUII Hidden} does not exist in the %s directory. To sign into this application, the account must be added to the directory.", tenantID))
	}
	return user, nil
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
