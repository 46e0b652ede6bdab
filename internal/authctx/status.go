package authctx

import (
	"context"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// TokenStatus says whether a token can currently be obtained in a context.
type TokenStatus int

// The token statuses.
const (
	TokenUnchecked TokenStatus = iota
	TokenAvailable
	TokenConsentRequired
	TokenCredentialsRejected
	TokenUnavailable
)

// DefaultStatusTTL is how long a token check's result is reused.
const DefaultStatusTTL = 60 * time.Second

// statusCheckTimeout bounds one token check.
const statusCheckTimeout = 10 * time.Second

// tokenCheck is the result of asking a context's token source for a token.
type tokenCheck struct {
	status TokenStatus
	detail string
	at     time.Time
}

// statusCache checks a context's token source on demand and keeps the
// result for ttl. The token itself is dropped at once.
type statusCache struct {
	ttl    time.Duration
	now    func() time.Time
	tokens func() (defender.TokenSource, error)

	mu   sync.Mutex
	last tokenCheck
}

func newStatusCache(ttl time.Duration, now func() time.Time, tokens func() (defender.TokenSource, error)) *statusCache {
	return &statusCache{ttl: ttl, now: now, tokens: tokens}
}

// check returns the cached result while it is fresh, or asks the token
// source. A check cut short by the caller's context is not cached.
func (s *statusCache) check(ctx context.Context) tokenCheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last.status != TokenUnchecked && s.now().Sub(s.last.at) < s.ttl {
		return s.last
	}
	ctx, cancel := context.WithTimeout(ctx, statusCheckTimeout)
	defer cancel()
	var err error
	if src, buildErr := s.tokens(); buildErr != nil {
		err = buildErr
	} else {
		_, err = src.Token(ctx)
	}
	c := classify(err)
	c.at = s.now()
	if e, ok := defender.AsError(err); ok && (e.Kind == defender.KindCanceled || e.Kind == defender.KindDeadlineExceeded) {
		return c
	}
	s.last = c
	return c
}

// classify turns a token source's answer into a status and a caller-safe
// detail (the defender.Error message, which never holds a secret).
func classify(err error) tokenCheck {
	if err == nil {
		return tokenCheck{status: TokenAvailable}
	}
	e, ok := defender.AsError(err)
	if !ok {
		return tokenCheck{status: TokenUnavailable, detail: "the token source failed"}
	}
	switch {
	case e.Reason == defender.ReasonConsentRequired:
		return tokenCheck{status: TokenConsentRequired, detail: e.Message}
	case e.Kind == defender.KindUpstreamAuth || e.Kind == defender.KindPermissionDenied:
		return tokenCheck{status: TokenCredentialsRejected, detail: e.Message}
	case e.Kind == defender.KindInternal:
		return tokenCheck{status: TokenUnavailable, detail: "internal error"}
	default:
		return tokenCheck{status: TokenUnavailable, detail: e.Message}
	}
}
