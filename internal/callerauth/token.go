package callerauth

import (
	"context"
	"errors"

	"github.com/defender-gateway/gateway/internal/entratoken"
)

// validate runs the token validator and turns its failures into
// *defender.Error (entratoken.AsDefenderError): a failed check is
// UNAUTHENTICATED TOKEN_INVALID naming the check; unavailable signing keys
// are UNAVAILABLE.
func (a *Authenticator) validate(ctx context.Context, raw string) (*entratoken.Claims, error) {
	claims, err := a.tokens.Validate(ctx, raw)
	if err == nil && claims == nil {
		err = errors.New("token validator returned no claims")
	}
	if err != nil {
		return nil, entratoken.AsDefenderError(err)
	}
	return claims, nil
}
