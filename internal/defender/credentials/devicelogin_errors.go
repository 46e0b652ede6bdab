package credentials

import (
	"errors"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// maxReasonLength bounds Entra's reason quoted in a DeviceLogin.
const maxReasonLength = 200

// deviceLoginFailure classifies the error that ended a device login's
// polling: Entra's expired_token is DeviceLoginExpired, anything else
// DeviceLoginFailed with a detail naming the error code, the AADSTS code
// and Entra's short reason.
func deviceLoginFailure(err error) (DeviceLoginState, string) {
	var call msalerrors.CallErr
	if !errors.As(err, &call) || call.Resp == nil {
		return DeviceLoginFailed, "Entra ID could not be reached while waiting for the sign-in"
	}
	body := readEntraErrorBody(call)
	code, aadsts := entraCodes(body)
	reason := shortReason(body.Description)
	switch code {
	case "expired_token", "code_expired":
		return DeviceLoginExpired, "the code expired before the user signed in" + codes(code, aadsts)
	case "authorization_declined":
		return DeviceLoginFailed, "the user declined the sign-in" + codes(code, aadsts)
	}
	detail := "Entra ID refused the sign-in" + codes(code, aadsts)
	if reason != "" {
		detail += ": " + reason
	}
	return DeviceLoginFailed, detail
}

// shortReason is Entra's description without its AADSTS prefix and the
// trace, timestamp and correlation lines it appends, bounded in length.
func shortReason(description string) string {
	s := description
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, " Trace ID:"); i >= 0 {
		s = s[:i]
	}
	if loc := aadstsPattern.FindStringIndex(s); loc != nil && loc[0] == 0 {
		s = strings.TrimLeft(s[loc[1]:], ": ")
	}
	s = strings.TrimSpace(s)
	if len(s) > maxReasonLength {
		s = s[:maxReasonLength] + "…"
	}
	return s
}
