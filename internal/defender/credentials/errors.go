package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	body := readEntraErrorBody(call)
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

// readEntraErrorBody decodes Entra's error body of call. MSAL puts the body
// back in a memory buffer, which is read and put back again, so that the
// body can be read more than once. MSAL's device-code polling drains that
// buffer before it returns the error; the body is then read from the
// error's text, which MSAL ends with the body.
func readEntraErrorBody(call msalerrors.CallErr) entraErrorBody {
	var body entraErrorBody
	if call.Resp != nil && call.Resp.Body != nil {
		raw, err := io.ReadAll(io.LimitReader(call.Resp.Body, maxErrorBodyBytes))
		if err == nil {
			call.Resp.Body = io.NopCloser(bytes.NewReader(raw))
			if json.Unmarshal(raw, &body) == nil && body.Error != "" {
				return body
			}
		}
	}
	if call.Err != nil {
		text := call.Err.Error()
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			var fromText entraErrorBody
			if json.Unmarshal([]byte(strings.TrimSpace(text[i+1:])), &fromText) == nil {
				return fromText
			}
		}
	}
	return body
}

// maxErrorBodyBytes bounds the error body read.
const maxErrorBodyBytes = 1 << 20

// userFlow names the user-context grant an Entra error answered; the same
// AADSTS code means different things in each.
type userFlow int

const (
	flowOnBehalfOf userFlow = iota + 1
	flowDeviceCode
	flowSilent
)

// AADSTS codes of the user context.
const (
	aadstsAssertionInvalid    = "AADSTS50013"   // the assertion failed validation
	aadstsAssertionExpired    = "AADSTS500133"  // the assertion is outside its lifetime
	aadstsMFARequired         = "AADSTS50076"   // MFA required
	aadstsMFAEnrollment       = "AADSTS50079"   // MFA registration required
	aadstsPublicClientOff     = "AADSTS7000218" // public client flows disabled (a credential is required)
	aadstsRefreshTokenExpired = "AADSTS700082"  // refresh token expired for inactivity
)

// userHints explain the AADSTS codes of the user context.
var userHints = map[string]string{
	aadstsAssertionInvalid:    "the user's token is not valid for this app",
	aadstsAssertionExpired:    "the user's token has expired",
	aadstsMFARequired:         "multi-factor authentication is required",
	aadstsMFAEnrollment:       "the user must register for multi-factor authentication",
	aadstsPublicClientOff:     "the app registration does not allow public client flows",
	aadstsRefreshTokenExpired: "the refresh token has expired",
	"AADSTS50173":             "the refresh token was revoked",
	"AADSTS70000":             "the grant is not valid",
	"AADSTS70019":             "the code has expired",
	"AADSTS50034":             "the user does not exist in the tenant",
}

// entraCodes is the OAuth error code and AADSTS code of an Entra answer.
func entraCodes(body entraErrorBody) (code, aadsts string) {
	if oauthCodePattern.MatchString(body.Error) {
		code = body.Error
	}
	aadsts = aadstsPattern.FindString(body.Description)
	if aadsts == "" && len(body.ErrorCodes) > 0 {
		aadsts = "AADSTS" + strconv.Itoa(body.ErrorCodes[0])
	}
	return code, aadsts
}

// mapUserError classifies err, an error of an MSAL call of flow. The codes
// that mean something particular in the user context are mapped here;
// everything else as for the app context (mapError): the gateway's own
// credential rejected is KindUpstreamAuth, an unreachable Entra ID
// KindUnavailable.
func (m tokenErrorMapper) mapUserError(err error, timedOut bool, flow userFlow) *defender.Error {
	var call msalerrors.CallErr
	if !errors.As(err, &call) || call.Resp == nil || call.Resp.StatusCode == http.StatusTooManyRequests || call.Resp.StatusCode >= 500 {
		return m.mapError(err, timedOut)
	}
	code, aadsts := entraCodes(readEntraErrorBody(call))
	var e *defender.Error
	switch {
	case aadsts == aadstsConsentRequired:
		// The app context's mapping: the tenant must consent.
	case aadsts == aadstsMFARequired || aadsts == aadstsMFAEnrollment || code == "interaction_required":
		e = defender.Errorf(defender.KindFailedPrecondition, defender.ReasonInteractionRequired,
			"Entra ID requires the user to sign in interactively%s%s", codes(code, aadsts), userHint(aadsts))
	case flow == flowOnBehalfOf && (aadsts == aadstsAssertionInvalid || aadsts == aadstsAssertionExpired || code == "invalid_grant"):
		e = defender.Errorf(defender.KindUnauthenticated, defender.ReasonUserAssertionRejected,
			"Entra ID rejected the user's token for on-behalf-of%s%s", codes(code, aadsts), userHint(aadsts))
	case flow == flowDeviceCode && aadsts == aadstsPublicClientOff:
		e = defender.Errorf(defender.KindFailedPrecondition, defender.ReasonPublicClientDisabled,
			"device-code sign-in needs public client flows, which the app registration does not allow%s: enable \"Allow public client flows\" on it", codes(code, aadsts))
	case flow == flowSilent && code == "invalid_grant":
		e = defender.Errorf(defender.KindFailedPrecondition, defender.ReasonSignInRequired,
			"the account's sign-in can no longer be renewed%s%s: sign in again with a device code", codes(code, aadsts), userHint(aadsts))
	}
	if e == nil {
		return m.mapError(err, timedOut)
	}
	e.UpstreamStatus = call.Resp.StatusCode
	e.UpstreamCode = code
	body := readEntraErrorBody(call)
	e.RequestID = cmpOr(body.TraceID, body.CorrelationID)
	e.Cause = &entraResponseError{Status: call.Resp.StatusCode, Text: m.scrub(call.Err.Error())}
	return e
}

func userHint(aadsts string) string {
	if h, ok := userHints[aadsts]; ok {
		return ": " + h
	}
	return hint(aadsts)
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
