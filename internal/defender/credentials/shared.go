package credentials

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/defender-gateway/gateway/internal/defender"
)

// defaultAcquireTimeout bounds one shared token acquisition when the options
// give none. It matches MSAL's own per-request default.
const defaultAcquireTimeout = 30 * time.Second

// sharedAcquirer lets concurrent callers share one token acquisition per key:
// N cold callers make one request to Entra ID.
//
// The acquisition runs with the first caller's context values but neither its
// deadline nor its cancellation (context.WithoutCancel), bounded by timeout
// instead; every caller waits on its own context. So a caller that gives up
// gets its own Canceled or DeadlineExceeded error, while the others, and
// MSAL's cache, still get the token.
type sharedAcquirer struct {
	group   singleflight.Group
	timeout time.Duration
}

func newSharedAcquirer(timeout time.Duration) *sharedAcquirer {
	if timeout <= 0 {
		timeout = defaultAcquireTimeout
	}
	return &sharedAcquirer{timeout: timeout}
}

// acquire returns the token from the acquisition for key in flight, or
// starts one with acquire.
func (s *sharedAcquirer) acquire(ctx context.Context, key string, acquire func(context.Context) (string, error)) (string, error) {
	if ctx.Err() != nil {
		return "", contextError(ctx)
	}
	results := s.group.DoChan(key, func() (any, error) {
		shared, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		return acquire(shared)
	})
	select {
	case r := <-results:
		if r.Err != nil {
			return "", r.Err
		}
		token, _ := r.Val.(string)
		return token, nil
	case <-ctx.Done():
		return "", contextError(ctx)
	}
}

// contextError is the *defender.Error of a caller's finished context.
func contextError(ctx context.Context) *defender.Error {
	if ctx.Err() == context.DeadlineExceeded {
		e := defender.Errorf(defender.KindDeadlineExceeded, defender.ReasonDeadlineExceeded,
			"the deadline passed while waiting for a token from Entra ID")
		e.Cause = ctx.Err()
		return e
	}
	e := defender.Errorf(defender.KindCanceled, defender.ReasonCanceled,
		"the call was canceled while waiting for a token from Entra ID")
	e.Cause = ctx.Err()
	return e
}
