package entra

import (
	"encoding/base64"
	"math/big"
	"net/http"

	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// openIDConfiguration is the subset of Entra's v2.0 discovery document the
// emulator can honour. MSAL requires authorization_endpoint, token_endpoint
// and an issuer on the authority's scheme and host.
type openIDConfiguration struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
}

// handleDiscovery serves a tenant named by its id or any of its verified
// domains; the issuer and endpoints always name the id. An unknown tenant is
// Entra's 400 invalid_tenant AADSTS90002.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	tenantID, ok := s.registry.ResolveTenant(r.PathValue("tenant"))
	if !ok {
		writeOAuthError(w, r, errDiscoveryTenantNotFound(r.PathValue("tenant")))
		return
	}
	base := "https://" + r.Host + "/" + tenantID
	wire.WriteJSON(w, http.StatusOK, openIDConfiguration{
		Issuer:                            base + "/v2.0",
		AuthorizationEndpoint:             base + "/oauth2/v2.0/authorize",
		TokenEndpoint:                     base + "/oauth2/v2.0/token",
		DeviceAuthorizationEndpoint:       base + "/oauth2/v2.0/devicecode",
		EndSessionEndpoint:                base + "/oauth2/v2.0/logout",
		JWKSURI:                           "https://" + r.Host + "/" + tenantID + "/discovery/v2.0/keys",
		ResponseTypesSupported:            []string{"code", "id_token", "code id_token", "id_token token"},
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		ClaimsSupported:                   []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "roles", "scp", "upn", "preferred_username", "name", "appid", "azp", "idtyp", "ver"},
		CloudInstanceName:                 "emulator",
	})
}

// jsonWebKey is one RSA public key in a JWKS.
type jsonWebKey struct {
	KeyType string `json:"kty"`
	Use     string `json:"use"`
	KeyID   string `json:"kid"`
	Alg     string `json:"alg"`
	N       string `json:"n"`
	E       string `json:"e"`
	Issuer  string `json:"issuer"`
}

func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request) {
	tenantID, ok := s.registry.ResolveTenant(r.PathValue("tenant"))
	if !ok {
		writeOAuthError(w, r, errDiscoveryTenantNotFound(r.PathValue("tenant")))
		return
	}
	pub := s.key.PublicKey
	wire.WriteJSON(w, http.StatusOK, map[string]any{"keys": []jsonWebKey{{
		KeyType: "RSA",
		Use:     "sig",
		KeyID:   s.keyID,
		Alg:     "RS256",
		N:       base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:       base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		Issuer:  accessTokenIssuer(tenantID),
	}}})
}
