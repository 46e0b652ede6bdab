package service

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/pagetoken"
)

// watchFanCursor is the signed payload of the cursors of WatchIncidents and
// WatchAlerts on tenants/-: every watched tenant's position, bound to the caller and the
// request like a fan-out page token, and each tenant to the backend and
// auth context that served it.
type watchFanCursor struct {
	// Tenants is the DEFLATE of the JSON of the []watchFanTenant.
	Tenants []byte `json:"z"`
	// Request is the watch's fingerprint digest (watchFanDigest).
	Request string `json:"r"`
	// Kind tells it from a cursor of one tenant and from a page token.
	Kind string `json:"k"`
}

// watchFanTenant is one tenant's position in a cursor across tenants.
type watchFanTenant struct {
	// Tenant is the canonical tenant (its id).
	Tenant string `json:"n"`
	// Bind is tenantBind of the target that served it.
	Bind string `json:"b"`
	// Watermark is the tenant's position, in Unix nanoseconds; in the
	// cursor's text, in whole milliseconds after the payload's Base (the
	// text then stays short; rounding down only moves a position back,
	// which repeats rather than loses).
	Watermark int64 `json:"w"`
}

// watchFanCursorKind is the Kind of the cursors of WatchIncidents across
// tenants, alertWatchFanCursorKind of WatchAlerts': a cursor of one is
// never one of the other.
const (
	watchFanCursorKind      = "watch-fanout"
	alertWatchFanCursorKind = "alertwatch-fanout"
)

// maxWatchCursorLen is the longest cursor WatchIncidentsRequest and
// WatchAlertsRequest accept.
const maxWatchCursorLen = 8192

// errWatchCursorTooLarge is returned when the tenants' positions do not fit
// one cursor.
var errWatchCursorTooLarge = defender.Errorf(defender.KindResourceExhausted, "WATCH_CURSOR_TOO_LARGE",
	"the positions of this watch's tenants do not fit one cursor (%d bytes); watch fewer tenants at a time", maxWatchCursorLen)

// watchFanDigest is the fingerprint of a watch across tenants, in a domain
// of its own: no page token's, fan-out page token's or one tenant's
// cursor's digest is ever one.
func (f fanoutFingerprint) watchFanDigest() string {
	h := sha256.New()
	fmt.Fprintf(h, "watch fanout v1 %s", f.digest())
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// watchFanPayload is the uncompressed text of a cursor: a base (the
// earliest position, in Unix nanoseconds) and the tenants' positions after
// it, in milliseconds.
type watchFanPayload struct {
	Base    int64            `json:"a"`
	Tenants []watchFanTenant `json:"t"`
}

// cursorCodec encodes cursors across tenants, reusing one compressor.
type cursorCodec struct {
	tokens pageTokens
	kind   string
	digest string
	w      *flate.Writer
	buf    bytes.Buffer
}

// encode signs the positions of tenants.
func (c *cursorCodec) encode(tenants []watchFanTenant) (string, error) {
	p := watchFanPayload{Tenants: tenants}
	for _, t := range tenants {
		if p.Base == 0 || t.Watermark < p.Base {
			p.Base = t.Watermark
		}
	}
	rel := make([]watchFanTenant, len(tenants))
	for i, t := range tenants {
		rel[i] = t
		rel[i].Watermark = (t.Watermark - p.Base) / int64(time.Millisecond)
	}
	p.Tenants = rel
	raw, err := json.Marshal(p)
	if err != nil {
		return "", internalError(err)
	}
	c.buf.Reset()
	if c.w == nil {
		if c.w, err = flate.NewWriter(&c.buf, flate.BestCompression); err != nil {
			return "", internalError(err)
		}
	} else {
		c.w.Reset(&c.buf)
	}
	if _, err := c.w.Write(raw); err != nil {
		return "", internalError(err)
	}
	if err := c.w.Close(); err != nil {
		return "", internalError(err)
	}
	token, err := c.tokens.codec.Encode(watchFanCursor{Tenants: bytes.Clone(c.buf.Bytes()), Request: c.digest, Kind: c.kind})
	if errors.Is(err, pagetoken.ErrTooLarge) || len(token) > maxWatchCursorLen {
		return "", errWatchCursorTooLarge
	}
	return token, err
}

// openWatchFanCursor verifies a cursor across tenants: signature, kind,
// that it was issued for this request and caller (digest), and that no
// position is in the future. The caller checks each tenant's binding and
// age.
func (p pageTokens) openWatchFanCursor(token, kind, digest string) ([]watchFanTenant, error) {
	invalid := fieldError("cursor", invalidPageToken)
	var c watchFanCursor
	if err := p.codec.Decode(token, &c); err != nil || c.Kind != kind || len(c.Tenants) == 0 {
		return nil, invalid
	}
	if subtle.ConstantTimeCompare([]byte(c.Request), []byte(digest)) != 1 {
		return nil, invalid
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(c.Tenants)), maxFanoutStates))
	if err != nil {
		return nil, invalid
	}
	var pl watchFanPayload
	if err := json.Unmarshal(raw, &pl); err != nil || pl.Base <= 0 || len(pl.Tenants) == 0 {
		return nil, invalid
	}
	now := p.now()
	for i := range pl.Tenants {
		t := &pl.Tenants[i]
		if t.Watermark < 0 || t.Watermark > (math.MaxInt64-pl.Base)/int64(time.Millisecond) {
			return nil, invalid
		}
		t.Watermark = pl.Base + t.Watermark*int64(time.Millisecond)
		if t.Tenant == "" || time.Unix(0, t.Watermark).Sub(now) > pageTokenSkew {
			return nil, invalid
		}
	}
	return pl.Tenants, nil
}
