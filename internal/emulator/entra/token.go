package entra

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

const (
	grantClientCredentials = "client_credentials"
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	grantDeviceCodeShort   = "device_code" // what MSAL Go sends; Entra accepts both
	grantRefreshToken      = "refresh_token"
	assertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	defaultScopeSuffix     = "/.default"
	maxTokenRequestBytes   = 64 << 10
)

// oidcScopes are the scopes MSAL adds to every request; they carry no API
// permission and are ignored when picking the resource.
var oidcScopes = []string{"openid", "offline_access", "profile", "email"}

// tokenResponse is a successful token endpoint answer.
// User grants add a refresh token and, for MSAL's account, an ID token and
// client_info.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// tokenRequest is a parsed POST to the token endpoint.
type tokenRequest struct {
	tenantID string // resolved from the path
	form     map[string][]string
	host     string // the Host the request was sent to
}

func (t tokenRequest) get(name string) string {
	if v := t.form[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// handleToken serves POST /{tenant}/oauth2/v2.0/token. Grants are a switch
// on grant_type: client credentials, on-behalf-of
// (urn:ietf:params:oauth:grant-type:jwt-bearer), device code
// (urn:ietf:params:oauth:grant-type:device_code) and refresh_token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequestBytes)
	formErr := r.ParseForm()
	tenantID, tenantOK := s.registry.ResolveTenant(r.PathValue("tenant"))
	s.countTokenRequest(tenantID, r.PostForm.Get("client_id"))
	if !tenantOK {
		writeOAuthError(w, r, errTenantNotFound(r.PathValue("tenant")))
		return
	}
	if formErr != nil {
		writeOAuthError(w, r, errMalformedRequest(formErr.Error()))
		return
	}
	req := tokenRequest{
		tenantID: tenantID,
		form:     r.PostForm,
		host:     r.Host,
	}

	var (
		resp tokenResponse
		err  *oauthError
	)
	switch grant := req.get("grant_type"); grant {
	case "":
		err = errMissingParameter("grant_type")
	case grantClientCredentials:
		resp, err = s.clientCredentials(req)
	case grantJWTBearer:
		resp, err = s.onBehalfOf(req)
	case grantDeviceCode, grantDeviceCodeShort:
		resp, err = s.deviceCodeGrant(req)
	case grantRefreshToken:
		resp, err = s.refreshTokenGrant(req)
	default:
		err = errUnsupportedGrantType(grant)
	}
	if err != nil {
		s.log.Debug("entra: token refused", "tenant", tenantID, "client_id", req.get("client_id"), "error", err.Error())
		writeOAuthError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	wire.WriteJSON(w, http.StatusOK, resp)
}

// clientCredentials implements the client-credentials grant: authenticate
// the app, pick the one resource of a "<resource>/.default" scope, check
// consent and issue an app token carrying the app's roles on the resource.
func (s *Server) clientCredentials(req tokenRequest) (tokenResponse, *oauthError) {
	app, acr, err := s.authenticateClient(req)
	if err != nil {
		return tokenResponse{}, err
	}
	resource, err := s.resourceFromScope(req.get("scope"), req.tenantID)
	if err != nil {
		return tokenResponse{}, err
	}
	if !s.registry.Consented(app.ClientID, req.tenantID) {
		return tokenResponse{}, errConsentRequired(app)
	}
	issue := s.issueAppToken
	if api, ok := s.registry.APIApp(resource); ok {
		issue = func(app App, acr, tenantID, _ string) (string, int64, error) {
			return s.issueAPIAppToken(app, api, acr, tenantID, resource, "https://"+req.host)
		}
	}
	token, expiresIn, signErr := issue(app, acr, req.tenantID, resource)
	if signErr != nil {
		s.log.Error("entra: sign access token", "error", signErr)
		return tokenResponse{}, errTransient()
	}
	s.log.Debug("entra: token issued", "tenant", req.tenantID, "client_id", app.ClientID, "resource", resource)
	return tokenResponse{TokenType: "Bearer", ExpiresIn: expiresIn, ExtExpiresIn: expiresIn, AccessToken: token}, nil
}

// Values of the appidacr claim: how the client authenticated.
const (
	acrSecret      = "1"
	acrCertificate = "2"
)

// authenticateClient finds the app named by client_id and checks its secret
// or client assertion. It returns the app and its appidacr value.
func (s *Server) authenticateClient(req tokenRequest) (App, string, *oauthError) {
	clientID := req.get("client_id")
	if clientID == "" {
		return App{}, "", errMissingParameter("client_id")
	}
	app, ok := s.registry.App(clientID)
	if !ok {
		return App{}, "", errUnknownClient(clientID, req.tenantID)
	}
	switch secret, assertion := req.get("client_secret"), req.get("client_assertion"); {
	case secret != "" && assertion != "":
		return App{}, "", errMalformedRequest("send either client_secret or client_assertion, not both")
	case secret != "":
		if app.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
			return App{}, "", errInvalidSecret(clientID)
		}
		return app, acrSecret, nil
	case assertion != "":
		if t := req.get("client_assertion_type"); t != assertionTypeJWTBearer {
			return App{}, "", errInvalidAssertion("client_assertion_type must be " + assertionTypeJWTBearer)
		}
		if err := s.verifyClientAssertion(assertion, app, req.tenantID, req.host); err != nil {
			return App{}, "", errInvalidAssertion(err.Error())
		}
		return app, acrCertificate, nil
	default:
		return App{}, "", errMissingCredential()
	}
}

// resourceFromScope returns the resource of the single "<resource>/.default"
// scope, ignoring the OpenID scopes MSAL appends.
func (s *Server) resourceFromScope(scope, tenantID string) (string, *oauthError) {
	var apiScopes []string
	for _, sc := range strings.Fields(scope) {
		if !slices.Contains(oidcScopes, sc) {
			apiScopes = append(apiScopes, sc)
		}
	}
	switch {
	case len(apiScopes) == 0:
		return "", errInvalidScope(scope, "no API scope")
	case len(apiScopes) > 1:
		return "", errInvalidScope(scope, "a .default request may name only one resource")
	case !strings.HasSuffix(apiScopes[0], defaultScopeSuffix):
		return "", errInvalidScope(scope, "client credential flows must use a scope ending in /.default")
	}
	resource := strings.TrimSuffix(apiScopes[0], defaultScopeSuffix)
	if !slices.Contains(s.resources, resource) {
		return "", errUnknownResource(resource, tenantID)
	}
	return resource, nil
}
