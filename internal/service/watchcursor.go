package service

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// watchCursor is the signed payload of WatchIncidents' cursors: a position
// (a watermark) and the fingerprint of the watch that issued it, bound to
// the caller exactly as page tokens are.
type watchCursor struct {
	// Watermark is the position, in Unix nanoseconds.
	Watermark int64 `json:"w"`
	// Request is the watch's fingerprint digest.
	Request string `json:"r"`
	// Kind tells a cursor from a page token signed with the same key.
	Kind string `json:"k"`
}

const watchCursorKind = "watch"

// watchDigest is the fingerprint of a watch: a listing's, in its own
// domain, so that no page token's digest is ever a cursor's.
func (f listFingerprint) watchDigest() string {
	h := sha256.New()
	fmt.Fprintf(h, "watch v1 %s", f.digest())
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// cursor signs the position pos for this watch.
func (w *watcher) cursor(pos time.Time) (string, error) {
	return w.s.tokens.codec.Encode(watchCursor{Watermark: pos.UnixNano(), Request: w.fp.watchDigest(), Kind: watchCursorKind})
}

// openCursor verifies a cursor's signature; the caller checks that it was
// issued for this watch, and its age.
func (s *IncidentService) openCursor(token string) (watchCursor, error) {
	return s.tokens.openWatchCursor(token, watchCursorKind)
}

// openWatchCursor verifies a cursor's signature and that it is of kind (a
// WatchIncidents cursor is not a WatchAlerts one, nor the reverse).
func (p pageTokens) openWatchCursor(token, kind string) (watchCursor, error) {
	var c watchCursor
	if err := p.codec.Decode(token, &c); err != nil || c.Kind != kind || c.Watermark <= 0 {
		return c, fieldError("cursor", invalidPageToken)
	}
	if time.Unix(0, c.Watermark).Sub(p.now()) > pageTokenSkew {
		return c, fieldError("cursor", invalidPageToken)
	}
	return c, nil
}

// matchesFilter reports whether inc, as it is after a change, matches a
// watch's filter (ListIncidents' fields, applied by the gateway).
func matchesFilter(f defender.IncidentFilter, inc *defender.Incident) bool {
	switch {
	case len(f.Statuses) > 0 && !slices.Contains(f.Statuses, inc.Status):
		return false
	case len(f.Severities) > 0 && !slices.Contains(f.Severities, inc.Severity):
		return false
	case f.AssignedTo != "" && inc.AssignedTo != f.AssignedTo:
		return false
	case !f.CreatedFrom.IsZero() && inc.CreateTime.Before(f.CreatedFrom):
		return false
	case !f.CreatedBefore.IsZero() && !inc.CreateTime.Before(f.CreatedBefore):
		return false
	}
	return true
}
