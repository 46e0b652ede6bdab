package entratoken

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/defender-gateway/gateway/internal/defender"
)

// Check names the validation step a token failed.
type Check string

// The checks, in the order Validate makes them.
const (
	CheckMalformed Check = "malformed"
	CheckSignature Check = "signature"
	CheckIssuer    Check = "issuer"
	CheckAudience  Check = "audience"
	CheckExpired   Check = "expired"
	CheckNotBefore Check = "not_before"
	CheckTenant    Check = "tenant"
)

// Error is a token that failed a check. Detail explains the failure with
// claim values (truncated), never the token.
type Error struct {
	Check  Check
	Detail string
}

func (e *Error) Error() string {
	return "entratoken: the token was rejected: " + string(e.Check) + ": " + e.Detail
}

// DefenderError is the caller-facing error: UNAUTHENTICATED, reason
// TOKEN_INVALID, ErrorInfo metadata "check".
func (e *Error) DefenderError() *defender.Error {
	de := defender.Errorf(defender.KindUnauthenticated, defender.ReasonTokenInvalid,
		"the token was rejected: %s: %s", e.Check, e.Detail)
	de.Metadata = map[string]string{"check": string(e.Check)}
	return de
}

// ErrKeysUnavailable says the authority's discovery document or key set
// could not be fetched: the token could not be checked, through no fault of
// the caller's.
var ErrKeysUnavailable = errors.New("entratoken: the authority's signing keys are unavailable")

// AsDefenderError maps an error of Validate to a *defender.Error: an *Error
// to UNAUTHENTICATED, ErrKeysUnavailable to UNAVAILABLE, the caller's
// context errors to CANCELED and DEADLINE_EXCEEDED, anything else to
// INTERNAL. The original error is kept as the Cause, for logs.
func AsDefenderError(err error) *defender.Error {
	if err == nil {
		return nil
	}
	if de, ok := defender.AsError(err); ok {
		return de
	}
	var te *Error
	var de *defender.Error
	switch {
	case errors.As(err, &te):
		de = te.DefenderError()
	case errors.Is(err, ErrKeysUnavailable):
		de = defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable,
			"the token could not be checked: Entra ID's signing keys are unavailable")
	case errors.Is(err, context.Canceled):
		de = defender.Errorf(defender.KindCanceled, defender.ReasonCanceled,
			"the call was canceled while its token was checked")
	case errors.Is(err, context.DeadlineExceeded):
		de = defender.Errorf(defender.KindDeadlineExceeded, defender.ReasonDeadlineExceeded,
			"the deadline passed while the token was checked")
	default:
		de = defender.Errorf(defender.KindInternal, defender.ReasonInternal, "internal error")
	}
	de.Cause = err
	return de
}

func reject(check Check, format string, args ...any) *Error {
	return &Error{Check: check, Detail: fmt.Sprintf(format, args...)}
}

// maxClaimShown bounds a claim value quoted in an error.
const maxClaimShown = 80

// shown quotes a claim value for an error: control characters dropped,
// truncated.
func shown(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > maxClaimShown {
		s = s[:maxClaimShown] + "…"
	}
	return fmt.Sprintf("%q", s)
}
