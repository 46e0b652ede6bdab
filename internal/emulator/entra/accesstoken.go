package entra

import (
	"crypto/sha1" //nolint:gosec // used to derive stable object IDs, not for security.
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
)

// Errors returned by Verify; they wrap the underlying cause.
var (
	// ErrTokenExpired means the token's exp has passed (or nbf not reached).
	ErrTokenExpired = errors.New("entra: token is expired or not yet valid")
	// ErrTokenInvalid means the token is malformed, not signed by this
	// authority or not in the expected form.
	ErrTokenInvalid = errors.New("entra: token is invalid")
)

// accessTokenClaims are the claims of an Entra v1.0 app-only access token,
// the version Entra issues for Graph and the Defender XDR API.
// aud is a single string, as Entra sends it.
type accessTokenClaims struct {
	Audience  string           `json:"aud"`
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	ID        string           `json:"jti,omitempty"`
	TenantID  string           `json:"tid"`
	AppID     string           `json:"appid,omitempty"`
	AppIDACR  string           `json:"appidacr,omitempty"`
	AZP       string           `json:"azp,omitempty"`
	ObjectID  string           `json:"oid,omitempty"`
	IDType    string           `json:"idtyp,omitempty"`
	Roles     []string         `json:"roles,omitempty"`
	Scope     string           `json:"scp,omitempty"`
	UPN       string           `json:"upn,omitempty"`
	Name      string           `json:"name,omitempty"`
	Version   string           `json:"ver"`
}

// The jwt.Claims methods, for expiry checks while parsing.

func (c *accessTokenClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *accessTokenClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *accessTokenClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *accessTokenClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *accessTokenClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *accessTokenClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// accessTokenIssuer is the `iss` of v1.0 access tokens, which is what Entra
// issues for Graph and the Defender APIs.
func accessTokenIssuer(tenantID string) string {
	return "https://sts.windows.net/" + tenantID + "/"
}

// issueAppToken signs an app-only access token for app in tenantID with
// audience resource; acr is the appidacr claim. It returns it with its lifetime in seconds.
func (s *Server) issueAppToken(app App, acr, tenantID, resource string) (string, int64, error) {
	now := s.now().Truncate(jwt.TimePrecision)
	// Entra reports expires_in one second short of the lifetime (3599 for 1h).
	expiresIn := int64(s.lifetime.Seconds()) - 1
	if expiresIn < 1 {
		expiresIn = 1
	}
	servicePrincipal := servicePrincipalID(tenantID, app.ClientID)
	c := accessTokenClaims{
		Audience:  resource,
		Issuer:    accessTokenIssuer(tenantID),
		Subject:   servicePrincipal,
		ExpiresAt: jwt.NewNumericDate(now.Add(s.lifetime)),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        newGUID(),
		TenantID:  tenantID,
		AppID:     app.ClientID,
		AppIDACR:  acr,
		AZP:       app.ClientID,
		ObjectID:  servicePrincipal,
		IDType:    "app",
		Roles:     app.Roles[resource],
		Version:   "1.0",
	}
	token := jwt.NewWithClaims(jwt.SigningMethodRS256, &c)
	token.Header["kid"] = s.keyID
	signed, err := token.SignedString(s.key)
	if err != nil {
		return "", 0, fmt.Errorf("entra: sign access token: %w", err)
	}
	return signed, expiresIn, nil
}

// Verify checks an access token issued by this server: RS256 signature with
// the server's key (matching kid), exp and nbf against the server's clock,
// and an issuer of the form https://sts.windows.net/{tid}/ for its tid. It
// does not check the audience: that is the calling API's job.
func (s *Server) Verify(token string) (claims.Claims, error) {
	var c accessTokenClaims
	err := s.parseSigned(token, &c)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		return claims.Claims{}, fmt.Errorf("%w: %w", ErrTokenExpired, err)
	case err != nil:
		return claims.Claims{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	case c.TenantID == "" || c.Issuer != accessTokenIssuer(c.TenantID):
		return claims.Claims{}, fmt.Errorf("%w: issuer %q does not match tenant %q", ErrTokenInvalid, c.Issuer, c.TenantID)
	case c.Audience == "":
		return claims.Claims{}, fmt.Errorf("%w: no audience", ErrTokenInvalid)
	}
	appID := c.AppID
	if appID == "" {
		appID = c.AZP
	}
	return claims.Claims{
		TenantID: c.TenantID,
		AppID:    appID,
		Audience: c.Audience,
		Roles:    c.Roles,
		Scopes:   strings.Fields(c.Scope),
		Subject:  c.Subject,
		ObjectID: c.ObjectID,
		UPN:      c.UPN,
	}, nil
}

// parseSigned parses a token this server signed into c: RS256 with the
// server's key (matching kid), exp required, exp and nbf checked against the
// server's clock. Errors wrap jwt's (jwt.ErrTokenExpired and so on).
func (s *Server) parseSigned(token string, c jwt.Claims) error {
	_, err := jwt.ParseWithClaims(token, c,
		func(t *jwt.Token) (any, error) {
			if kid, _ := t.Header["kid"].(string); kid != s.keyID {
				return nil, fmt.Errorf("unknown signing key %q", kid)
			}
			return &s.key.PublicKey, nil
		},
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithTimeFunc(s.now),
		jwt.WithExpirationRequired(),
	)
	return err
}

// servicePrincipalID derives a stable GUID for the app's service principal in
// a tenant, used as the token's oid and sub.
func servicePrincipalID(tenantID, clientID string) string {
	sum := sha1.Sum([]byte(tenantID + "/" + clientID)) //nolint:gosec // not a security use.
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
