package credentials

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// drainedCallErr is the error MSAL's device code polling returns: it has
// read the body already, which is then only in the error's text.
func drainedCallErr(status int, body string) error {
	req, _ := http.NewRequest(http.MethodPost, "https://login.example/t/oauth2/v2.0/token", nil)
	return msalerrors.CallErr{
		Req:  req,
		Resp: &http.Response{StatusCode: status, Body: io.NopCloser(bytes.NewReader(nil))},
		Err:  fmt.Errorf("http call(%s)(POST) error: reply status code was %d:\n%s", req.URL, status, body),
	}
}

func TestDeviceLoginFailure(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		want       DeviceLoginState
		wantDetail string
	}{
		{"declined", drainedCallErr(400, `{"error":"authorization_declined","error_description":"AADSTS70000: The user declined.\r\nTrace ID: abc","error_codes":[70000]}`),
			DeviceLoginFailed, "the user declined the sign-in (authorization_declined, AADSTS70000)"},
		{"expired", drainedCallErr(400, `{"error":"expired_token","error_description":"AADSTS70019: Verification code expired.","error_codes":[70019]}`),
			DeviceLoginExpired, "the code expired before the user signed in (expired_token, AADSTS70019)"},
		{"other Entra error, body still readable", callErr(400, nil, `{"error":"invalid_grant","error_description":"AADSTS50034: The user account does not exist. Trace ID: 1 Correlation ID: 2","error_codes":[50034]}`),
			DeviceLoginFailed, "Entra ID refused the sign-in (invalid_grant, AADSTS50034): The user account does not exist."},
		{"network", errors.New("dial tcp: connection refused"), DeviceLoginFailed, "Entra ID could not be reached while waiting for the sign-in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, detail := deviceLoginFailure(tt.err)
			if state != tt.want || detail != tt.wantDetail {
				t.Errorf("got %s %q, want %s %q", state, detail, tt.want, tt.wantDetail)
			}
		})
	}
}

func TestMapUserErrorDeviceCodeAndSilent(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		flow       userFlow
		wantReason string
	}{
		{"public client flows disabled", callErr(401, nil, `{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain client_assertion or client_secret.","error_codes":[7000218]}`),
			flowDeviceCode, "PUBLIC_CLIENT_FLOWS_DISABLED"},
		{"refresh refused", drainedCallErr(400, `{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.","error_codes":[700082]}`),
			flowSilent, "SIGN_IN_REQUIRED"},
		{"mfa on refresh", callErr(400, nil, `{"error":"invalid_grant","error_description":"AADSTS50076: MFA.","error_codes":[50076]}`),
			flowSilent, "INTERACTION_REQUIRED"},
		{"invalid_grant is not an assertion matter in the silent flow", callErr(400, nil, `{"error":"invalid_grant","error_description":"AADSTS50013: x","error_codes":[50013]}`),
			flowSilent, "SIGN_IN_REQUIRED"},
		{"7000218 outside the device flow is the app's credential", callErr(401, nil, `{"error":"invalid_client","error_description":"AADSTS7000218: x","error_codes":[7000218]}`),
			flowSilent, "TOKEN_ACQUISITION_FAILED"},
		{"throttled stays throttled", callErr(429, http.Header{"Retry-After": {"7"}}, `{"error":"invalid_grant","error_description":"AADSTS50196: loop","error_codes":[50196]}`),
			flowSilent, "UPSTREAM_THROTTLED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tokenErrorMapper{tenant: "contoso.example"}.mapUserError(tt.err, false, tt.flow)
			if e.Reason != tt.wantReason {
				t.Errorf("reason = %s (%v), want %s", e.Reason, e, tt.wantReason)
			}
		})
	}
}
