package credentials

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/defender-gateway/gateway/internal/defender"
)

// entraErrorBody is the OAuth error response of Entra ID.
type entraErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// aadstsHints explain the AADSTS codes an operator most often meets when
// setting up the gateway's app registration.
var aadstsHints = map[string]string{
	"AADSTS7000215": "the client secret is wrong",
	"AADSTS7000222": "the client secret has expired",
	"AADSTS700016":  "the application is not registered in the tenant",
	"AADSTS700027":  "the certificate is not registered for the application",
	"AADSTS70011":   "the scope is not valid",
	"AADSTS65001":   "admin consent is missing",
	"AADSTS500011":  "the API resource is not known in the tenant",
	"AADSTS90002":   "the tenant does not exist",
	"AADSTS900023":  "the tenant is not valid",
}

var (
	aadstsPattern    = regexp.MustCompile(`AADSTS[0-9]{1,10}`)
	oauthCodePattern = regexp.MustCompile(`^[a-z_]{1,64}$`)
)

// redactedSecret replaces a secret found in error text.
const redactedSecret = "[REDACTED]"

// tokenErrorMapper turns MSAL errors into *defender.Error values whose
// Message is safe for callers and whose Cause is safe for logs.
type tokenErrorMapper struct {
	// secret, when not empty, is scrubbed from every text kept in a Cause.
	secret string
	// timeout is the bound of one acquisition, named when it passes.
	timeout time.Duration
	// tenant is the tenant tokens are requested from, named in consent
	// errors.
	tenant string
}

// aadstsConsentRequired is Entra's code for a tenant whose administrator has
// not consented to the app.
const aadstsConsentRequired = "AADSTS65001"

// mapError classifies err, an error of an MSAL call made with a context
// that timedOut or not.
func (m tokenErrorMapper) mapError(err error, timedOut bool) *defender.Error {
	var call msalerrors.CallErr
	if errors.As(err, &call) && call.Resp != nil {
		return m.responseError(call)
	}
	var badJSON msalerrors.InvalidJsonErr
	if errors.As(err, &badJSON) {
		// Its text quotes the raw response, which may hold a token.
		e := defender.Errorf(defender.KindInternal, defender.ReasonTokenAcquisition,
			"Entra ID answered the token request with an unreadable response")
		e.Cause = errors.New("token response is not valid JSON")
		return e
	}
	if timedOut {
		e := defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable,
			"Entra ID did not issue a token within %s", m.timeout)
		e.Cause = m.safeCause(err)
		return e
	}
	var urlErr *url.Error
	var netErr net.Error
	if errors.As(err, &urlErr) || errors.As(err, &netErr) {
		e := defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable,
			"Entra ID could not be reached")
		e.Cause = m.safeCause(err)
		return e
	}
	e := defender.Errorf(defender.KindInternal, defender.ReasonTokenAcquisition,
		"the gateway could not obtain a token from Entra ID")
	e.Cause = m.safeCause(err)
	return e
}

// responseError maps an HTTP error answer of Entra ID.
func (m tokenErrorMapper) responseError(call msalerrors.CallErr) *defender.Error {
	status := call.Resp.StatusCode
	var body entraErrorBody
	if call.Resp.Body != nil {
		// MSAL has read the body and put it back in a memory buffer.
		_ = json.NewDecoder(call.Resp.Body).Decode(&body)
	}
	code := ""
	if oauthCodePattern.MatchString(body.Error) {
		code = body.Error
	}
	aadsts := aadstsPattern.FindString(body.Description)
	if aadsts == "" && len(body.ErrorCodes) > 0 {
		aadsts = "AADSTS" + strconv.Itoa(body.ErrorCodes[0])
	}
	requestID := body.TraceID
	if requestID == "" {
		requestID = body.CorrelationID
	}

	var e *defender.Error
	switch {
	case status == http.StatusTooManyRequests:
		e = defender.Errorf(defender.KindThrottled, defender.ReasonThrottled,
			"Entra ID is throttling the gateway's token requests%s", codes(code, aadsts))
		e.RetryAfter = retryAfter(call.Resp.Header)
	case status >= 500:
		e = defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable,
			"Entra ID could not issue a token (HTTP %d)", status)
		e.RetryAfter = retryAfter(call.Resp.Header)
	case aadsts == aadstsConsentRequired:
		e = defender.Errorf(defender.KindFailedPrecondition, defender.ReasonConsentRequired,
			"tenant %s has not granted the gateway's app admin consent (%s): an administrator of the tenant must consent", m.tenant, aadsts)
	case code == "invalid_client" || code == "unauthorized_client":
		e = defender.Errorf(defender.KindUpstreamAuth, defender.ReasonTokenAcquisition,
			"Entra ID rejected the gateway's credentials%s%s", codes(code, aadsts), hint(aadsts))
	default:
		e = defender.Errorf(defender.KindUpstreamAuth, defender.ReasonTokenAcquisition,
			"Entra ID rejected the gateway's token request%s%s", codes(code, aadsts), hint(aadsts))
	}
	e.UpstreamStatus = status
	e.UpstreamCode = code
	e.RequestID = requestID
	// The CallErr itself is not kept: its request holds the form body, that
	// is the client secret or the signed client assertion.
	e.Cause = &entraResponseError{Status: status, Text: m.scrub(call.Err.Error())}
	return e
}

// entraResponseError is what is logged of an Entra ID error answer: the
// status, the endpoint and Entra's error body; never the request.
type entraResponseError struct {
	Status int
	Text   string
}

func (e *entraResponseError) Error() string { return e.Text }

// safeCause keeps err as the cause unless its text holds the secret; then
// only the scrubbed text is kept.
func (m tokenErrorMapper) safeCause(err error) error {
	text := err.Error()
	if m.secret != "" && strings.Contains(text, m.secret) {
		return errors.New(m.scrub(text))
	}
	return err
}

func (m tokenErrorMapper) scrub(text string) string {
	if m.secret == "" {
		return text
	}
	return strings.ReplaceAll(text, m.secret, redactedSecret)
}

// codes formats " (invalid_client, AADSTS7000215)", or less when unknown.
func codes(code, aadsts string) string {
	switch {
	case code != "" && aadsts != "":
		return fmt.Sprintf(" (%s, %s)", code, aadsts)
	case code != "":
		return " (" + code + ")"
	case aadsts != "":
		return " (" + aadsts + ")"
	}
	return ""
}

func hint(aadsts string) string {
	if h, ok := aadstsHints[aadsts]; ok {
		return ": " + h
	}
	return ""
}

// retryAfter reads a Retry-After header in seconds; 0 when absent or a date.
func retryAfter(h http.Header) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}
