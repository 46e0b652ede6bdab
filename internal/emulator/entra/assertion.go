package entra

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7515 §4.1.7).
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// assertionClockSkew is the tolerance for the assertion's exp and nbf.
const assertionClockSkew = 5 * time.Minute

// verifyClientAssertion checks a private_key_jwt client assertion: signed
// (PS256 or RS256) by one of the app's certificates, named by its x5t#S256
// or x5t header; aud the tenant's token endpoint on this host; iss and sub
// the client ID; exp not passed. jti replay is not tracked.
func (s *Server) verifyClientAssertion(assertion string, app App, tenantID, host string) error {
	var cert *x509.Certificate
	parsed, err := jwt.Parse(assertion,
		func(t *jwt.Token) (any, error) {
			c, err := certificateForHeader(t.Header, app.Certificates)
			if err != nil {
				return nil, err
			}
			cert = c
			return c.PublicKey, nil
		},
		jwt.WithValidMethods([]string{jwt.SigningMethodPS256.Alg(), jwt.SigningMethodRS256.Alg()}),
		jwt.WithTimeFunc(s.now),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(assertionClockSkew),
		jwt.WithIssuer(app.ClientID),
		jwt.WithSubject(app.ClientID),
	)
	if err != nil {
		return fmt.Errorf("invalid client assertion: %w", err)
	}
	if cert == nil {
		return errors.New("no certificate matched the assertion")
	}
	aud, err := parsed.Claims.GetAudience()
	if err != nil || len(aud) != 1 {
		return errors.New("the assertion must carry exactly one audience")
	}
	if !s.isTokenEndpoint(aud[0], tenantID, host) {
		return fmt.Errorf("audience %q is not this tenant's token endpoint", aud[0])
	}
	return nil
}

// isTokenEndpoint reports whether raw is https://{host}/{tenant}/oauth2/v2.0/token
// with {tenant} standing for tenantID (its ID or a domain).
func (s *Server) isTokenEndpoint(raw, tenantID, host string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, host) {
		return false
	}
	segment, ok := strings.CutSuffix(strings.TrimPrefix(u.Path, "/"), "/oauth2/v2.0/token")
	if !ok || strings.Contains(segment, "/") {
		return false
	}
	id, ok := s.registry.ResolveTenant(segment)
	return ok && id == tenantID
}

// certificateForHeader picks the certificate a JOSE header names by its
// SHA-256 (x5t#S256) or SHA-1 (x5t) thumbprint. MSAL encodes thumbprints in
// standard base64 although RFC 7515 says base64url; both are accepted.
func certificateForHeader(header map[string]any, certs []*x509.Certificate) (*x509.Certificate, error) {
	if len(certs) == 0 {
		return nil, errors.New("the app has no registered certificate")
	}
	if t, ok := header["x5t#S256"].(string); ok {
		return certificateByThumbprint(t, certs, func(der []byte) []byte { s := sha256.Sum256(der); return s[:] })
	}
	if t, ok := header["x5t"].(string); ok {
		return certificateByThumbprint(t, certs, func(der []byte) []byte { s := sha1.Sum(der); return s[:] }) //nolint:gosec // see import
	}
	return nil, errors.New("the assertion header names no certificate (x5t#S256 or x5t)")
}

func certificateByThumbprint(encoded string, certs []*x509.Certificate, hash func([]byte) []byte) (*x509.Certificate, error) {
	want, err := decodeThumbprint(encoded)
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		if bytes.Equal(hash(c.Raw), want) {
			return c, nil
		}
	}
	return nil, errors.New("no registered certificate matches the assertion's thumbprint")
}

func decodeThumbprint(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("the certificate thumbprint is not base64")
}
