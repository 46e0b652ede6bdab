package defender

import "context"

// TokenSource returns a bearer token for one upstream audience. It is backed
// by MSAL, whose cache makes repeated calls free until the token nears expiry.
// Failures are *Error values of KindUpstreamAuth (credentials rejected) or
// KindUnavailable (the authority could not be reached).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenSourceFunc adapts a function to TokenSource.
type TokenSourceFunc func(ctx context.Context) (string, error)

// Token calls f.
func (f TokenSourceFunc) Token(ctx context.Context) (string, error) { return f(ctx) }
