package audit

import (
	"context"
	"sync/atomic"

	"github.com/defender-gateway/gateway/internal/caller"
)

// slot receives the caller from the authentication step, which runs inside
// the audit interceptor and so cannot hand it back through the context.
type slot struct {
	req atomic.Pointer[caller.Request]
}

type slotKey struct{}

func withSlot(ctx context.Context) (context.Context, *slot) {
	s := &slot{}
	return context.WithValue(ctx, slotKey{}, s), s
}

// SetCaller tells the audit record of the call in ctx who the caller is.
// Caller authentication calls it once it has authenticated the call; it
// does nothing outside an audited call.
func SetCaller(ctx context.Context, r *caller.Request) {
	if s, ok := ctx.Value(slotKey{}).(*slot); ok {
		s.req.Store(r)
	}
}
