package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/entra"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// apiAuth describes how one fake API checks bearer tokens.
type apiAuth struct {
	// audiences are the accepted `aud` values.
	audiences []string
	// unauthorized writes a 401 in the API's error shape.
	unauthorized func(w http.ResponseWriter, r *http.Request, message string)
}

var graphAuth = apiAuth{
	audiences: []string{identity.GraphResource},
	unauthorized: func(w http.ResponseWriter, r *http.Request, message string) {
		wire.WriteGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", message)
	},
}

var xdrAuth = apiAuth{
	audiences: []string{identity.XDRResource, identity.XDRResourceAlt},
	unauthorized: func(w http.ResponseWriter, _ *http.Request, message string) {
		wire.WriteXDRError(w, http.StatusUnauthorized, "Unauthorized", message)
	},
}

// requireToken wraps next so that it only sees requests with a valid bearer
// token for one of the API's audiences, and finds the token's claims in the
// request context (claims.From). Others get a 401 with a WWW-Authenticate
// challenge pointing at the emulator's authority.
func (e *Emulator) requireToken(auth apiAuth, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			e.challenge(w, "")
			auth.unauthorized(w, r, "Access token is empty.")
			return
		}
		c, err := e.entra.Verify(token)
		switch {
		case errors.Is(err, entra.ErrTokenExpired):
			e.challenge(w, "The token is expired.")
			auth.unauthorized(w, r, "Lifetime validation failed, the token is expired.")
			return
		case err != nil:
			e.challenge(w, "The token is invalid.")
			auth.unauthorized(w, r, "Invalid JWT token: the token is malformed or its signature is invalid.")
			return
		case !slices.Contains(auth.audiences, c.Audience):
			e.challenge(w, "The audience is invalid.")
			auth.unauthorized(w, r, fmt.Sprintf("Invalid audience %q.", c.Audience))
			return
		}
		setRequestTenant(r.Context(), c.TenantID)
		next.ServeHTTP(w, r.WithContext(claims.With(r.Context(), c)))
	})
}

// challenge sets an RFC 6750 WWW-Authenticate header naming the authority;
// description is empty when no token was presented.
func (e *Emulator) challenge(w http.ResponseWriter, description string) {
	v := fmt.Sprintf(`Bearer realm="", authorization_uri="%s/common/oauth2/authorize"`, e.authorityHost)
	if description != "" {
		v += fmt.Sprintf(`, error="invalid_token", error_description=%q`, description)
	}
	w.Header().Set("WWW-Authenticate", v)
}

// bearerToken extracts the token of an "Authorization: Bearer" header.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
