package entra

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// oauthError is an OAuth 2.0 error as Entra ID reports it: an HTTP status,
// the OAuth error code and an AADSTS number that prefixes the description.
type oauthError struct {
	status   int
	code     string // OAuth "error", e.g. invalid_client
	suberror string // Entra "suberror", e.g. consent_required; optional
	aadsts   int
	message  string // description without the "AADSTSn: " prefix
}

func (e *oauthError) Error() string {
	return fmt.Sprintf("%s: AADSTS%d: %s", e.code, e.aadsts, e.message)
}

func (e *oauthError) description() string {
	return fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.message)
}

func errTenantNotFound(tenant string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", "", 90002, fmt.Sprintf(
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)}
}

// errDiscoveryTenantNotFound is errTenantNotFound as Entra's discovery
// endpoints (openid-configuration, keys) answer it: error invalid_tenant.
func errDiscoveryTenantNotFound(tenant string) *oauthError {
	e := errTenantNotFound(tenant)
	e.code = "invalid_tenant"
	return e
}

func errMissingParameter(name string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", "", 900144, fmt.Sprintf(
		"The request body must contain the following parameter: '%s'.", name)}
}

func errMalformedRequest(detail string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", "", 900144, "The request body is not valid: " + detail}
}

func errUnsupportedGrantType(grantType string) *oauthError {
	return &oauthError{http.StatusBadRequest, "unsupported_grant_type", "", 70003, fmt.Sprintf(
		"The app requested an unsupported grant type '%s'.", grantType)}
}

func errUnknownClient(clientID, tenantID string) *oauthError {
	return &oauthError{http.StatusBadRequest, "unauthorized_client", "", 700016, fmt.Sprintf(
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", clientID, tenantID)}
}

func errMissingCredential() *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", "", 7000218,
		"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
}

func errInvalidSecret(clientID string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", "", 7000215, fmt.Sprintf(
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)}
}

func errInvalidAssertion(reason string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", "", 700027, "Client assertion failed validation: " + reason}
}

func errInvalidScope(scope, reason string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_scope", "", 70011, fmt.Sprintf(
		"The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid (%s): '%s'.", reason, scope)}
}

func errUnknownResource(resource, tenantID string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_resource", "", 500011, fmt.Sprintf(
		"The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", resource, tenantID)}
}

func errConsentRequired(app App) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", "consent_required", 65001, fmt.Sprintf(
		"The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", app.ClientID, app.Name)}
}

func errTransient() *oauthError {
	return &oauthError{http.StatusInternalServerError, "server_error", "", 90033, "A transient error has occurred. Please try again."}
}

// aadstsPrefix finds the AADSTS number that opens an error description.
var aadstsPrefix = regexp.MustCompile(`^AADSTS(\d+)`)

// WriteError writes an Entra ID error body:
// {"error","error_description","error_codes","timestamp","trace_id","correlation_id"}.
// description should start with "AADSTSn:"; n becomes error_codes. The
// correlation ID echoes the request's client-request-id header when present.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, description string) {
	writeErrorBody(w, r, status, code, "", description)
}

func writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	writeErrorBody(w, r, e.status, e.code, e.suberror, e.description())
}

func writeErrorBody(w http.ResponseWriter, r *http.Request, status int, code, suberror, description string) {
	codes := []int{}
	if m := aadstsPrefix.FindStringSubmatch(description); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			codes = append(codes, n)
		}
	}
	correlationID := r.Header.Get("client-request-id")
	if correlationID == "" {
		correlationID = newGUID()
	}
	body := map[string]any{
		"error":             code,
		"error_description": description,
		"error_codes":       codes,
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          newGUID(),
		"correlation_id":    correlationID,
	}
	if suberror != "" {
		body["suberror"] = suberror
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	wire.WriteJSON(w, status, body)
}

// newGUID returns a random (version 4) GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func errInvalidGrant(aadsts int, message string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", "", aadsts, message}
}

// errDeviceFlow is a device-flow polling answer (authorization_pending,
// expired_token, ...): always 400.
func errDeviceFlow(code string, aadsts int, message string) *oauthError {
	return &oauthError{http.StatusBadRequest, code, "", aadsts, message}
}
