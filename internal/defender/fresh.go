package defender

import "context"

type freshReadKey struct{}

// WithFreshRead marks ctx so that the reads made under it see the upstream
// as it is now: a read cache in front of a Backend must neither serve them
// nor let them join a read already under way. A watch's poller needs it,
// since it advances its watermark to the time of its read.
func WithFreshRead(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshReadKey{}, true)
}

// FreshRead reports whether ctx was marked by WithFreshRead.
func FreshRead(ctx context.Context) bool {
	v, _ := ctx.Value(freshReadKey{}).(bool)
	return v
}
