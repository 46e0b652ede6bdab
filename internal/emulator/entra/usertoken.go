package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// v2Claims are the claims of an Entra v2.0 token: the access tokens of an
// API registered in the directory (the gateway) and ID tokens.
type v2Claims struct {
	Audience          string   `json:"aud"`
	Issuer            string   `json:"iss"`
	IssuedAt          int64    `json:"iat"`
	NotBefore         int64    `json:"nbf"`
	ExpiresAt         int64    `json:"exp"`
	ID                string   `json:"jti,omitempty"`
	TenantID          string   `json:"tid"`
	AZP               string   `json:"azp,omitempty"`
	AZPACR            string   `json:"azpacr,omitempty"`
	Subject           string   `json:"sub"`
	ObjectID          string   `json:"oid,omitempty"`
	Scope             string   `json:"scp,omitempty"`
	Roles             []string `json:"roles,omitempty"`
	UPN               string   `json:"upn,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Name              string   `json:"name,omitempty"`
	IDType            string   `json:"idtyp,omitempty"`
	Version           string   `json:"ver"`
}

// v2Issuer is the `iss` of v2.0 tokens: the authority's tenant issuer, as
// the discovery document names it.
func v2Issuer(authorityHost, tenantID string) string {
	return authorityHost + "/" + tenantID + "/v2.0"
}

// UserTokenSpec describes a v2.0 user access token made by UserToken, as a
// client (by default the gateway CLI) would present it to the gateway. Zero
// fields get the defaults noted.
type UserTokenSpec struct {
	// UPN names the sandbox user (required); its tenant and oid are used.
	UPN string
	// Audience is `aud` (default identity.ClientID, the gateway API).
	Audience string
	// ClientID is `azp` (default identity.CLIClientID).
	ClientID string
	// Scopes become `scp` (default [identity.GatewayScope]).
	Scopes []string
	// IssuedAt, NotBefore and ExpiresAt default to now, now and now+1h on
	// the server's clock.
	IssuedAt, NotBefore, ExpiresAt time.Time
	// Issuer overrides `iss` (default <authority host>/<tid>/v2.0).
	Issuer string
	// Tenant overrides `tid` (default the user's tenant).
	Tenant string
	// Forged signs the token with another RSA key under the real `kid`, so
	// that only the signature check fails.
	Forged bool
}

// ErrUnknownUser is returned for a UPN that is not in the directory.
var ErrUnknownUser = errors.New("entra: unknown user")

// UserToken returns a signed v2.0 user access token for spec. It needs
// Config.AuthorityHost unless spec.Issuer is set.
func (s *Server) UserToken(spec UserTokenSpec) (string, error) {
	user, ok := s.registry.User(spec.UPN)
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownUser, spec.UPN)
	}
	now := s.now().Truncate(time.Second)
	tenantID := cmpOr(spec.Tenant, user.TenantID)
	issuer := spec.Issuer
	if issuer == "" {
		if s.authorityHost == "" {
			return "", errors.New("entra: UserToken needs Config.AuthorityHost or an Issuer")
		}
		issuer = v2Issuer(s.authorityHost, tenantID)
	}
	scopes := spec.Scopes
	if scopes == nil {
		scopes = []string{identity.GatewayScope}
	}
	clientID := cmpOr(spec.ClientID, identity.CLIClientID)
	c := v2Claims{
		Audience:          cmpOr(spec.Audience, identity.ClientID),
		Issuer:            issuer,
		IssuedAt:          timeOr(spec.IssuedAt, now).Unix(),
		NotBefore:         timeOr(spec.NotBefore, now).Unix(),
		ExpiresAt:         timeOr(spec.ExpiresAt, now.Add(time.Hour)).Unix(),
		ID:                newGUID(),
		TenantID:          tenantID,
		AZP:               clientID,
		AZPACR:            "0",
		Subject:           pairwiseSubject(user.ObjectID, clientID),
		ObjectID:          user.ObjectID,
		Scope:             strings.Join(scopes, " "),
		UPN:               user.UPN,
		PreferredUsername: user.UPN,
		Name:              user.DisplayName,
		IDType:            "user",
		Version:           "2.0",
	}
	key := s.key
	if spec.Forged {
		forger, err := s.forgeryKey()
		if err != nil {
			return "", err
		}
		key = forger
	}
	return s.signWith(key, c)
}

// sign signs claims (any JSON object) with the server key.
func (s *Server) sign(claims any) (string, error) { return s.signWith(s.key, claims) }

func (s *Server) signWith(key *rsa.PrivateKey, claims any) (string, error) {
	raw, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("entra: encode claims: %w", err)
	}
	m := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("entra: encode claims: %w", err)
	}
	token := jwt.NewWithClaims(jwt.SigningMethodRS256, m)
	token.Header["kid"] = s.keyID
	signed, err := token.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("entra: sign token: %w", err)
	}
	return signed, nil
}

// forgeryKey is a second RSA key, generated on first use, for Forged tokens.
func (s *Server) forgeryKey() (*rsa.PrivateKey, error) {
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	if s.forger == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("entra: generate forgery key: %w", err)
		}
		s.forger = k
	}
	return s.forger, nil
}

// issueAPIAppToken signs a v2.0 app token for app calling api (an app that
// exposes resource as its app ID URI): aud = api's client id, roles = app's
// roles on resource.
func (s *Server) issueAPIAppToken(app, api App, acr, tenantID, resource, authorityHost string) (string, int64, error) {
	now, expiresIn := s.lifetimeFromNow()
	servicePrincipal := servicePrincipalID(tenantID, app.ClientID)
	token, err := s.sign(v2Claims{
		Audience:  api.ClientID,
		Issuer:    v2Issuer(authorityHost, tenantID),
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		ExpiresAt: now.Add(s.lifetime).Unix(),
		ID:        newGUID(),
		TenantID:  tenantID,
		AZP:       app.ClientID,
		AZPACR:    acr,
		Subject:   servicePrincipal,
		ObjectID:  servicePrincipal,
		Roles:     app.Roles[resource],
		IDType:    "app",
		Version:   "2.0",
	})
	return token, expiresIn, err
}

// lifetimeFromNow returns the issue time and expires_in (lifetime - 1 s, as
// Entra reports it).
func (s *Server) lifetimeFromNow() (time.Time, int64) {
	now := s.now().Truncate(jwt.TimePrecision)
	expiresIn := max(int64(s.lifetime.Seconds())-1, 1)
	return now, expiresIn
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func timeOr(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}
