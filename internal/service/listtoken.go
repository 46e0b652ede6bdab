package service

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/pagetoken"
)

// pageTokenTTL is how long a page token stays valid: longer than any paging
// session needs, short enough to bound the replay of a leaked token.
const pageTokenTTL = 24 * time.Hour

// pageTokenSkew tolerates clocks of replicas sharing a key that disagree a
// little: a token issued slightly "in the future" is still accepted.
const pageTokenSkew = 5 * time.Minute

const invalidPageToken = "invalid or does not match this request"

// listPageToken is the signed payload of ListIncidents' page tokens.
type listPageToken struct {
	// Cursor is the backend's cursor of the next page.
	Cursor string `json:"c"`
	// Request is the fingerprint of the request that issued the token.
	Request string `json:"r"`
	// IssuedAt is when the token was issued, in Unix seconds.
	IssuedAt int64 `json:"t"`
}

// listFingerprint identifies what a page token may continue: the same
// canonical tenant, backend, filter and view. page_size is left out: AIP-158
// lets it change between pages.
type listFingerprint struct {
	Tenant     string
	Backend    defender.BackendKind
	Filter     defender.IncidentFilter
	WithAlerts bool
}

// digest is a short, stable hash of the fingerprint. Every string is quoted,
// so no two fingerprints print alike, and times print in UTC.
func (f listFingerprint) digest() string {
	h := sha256.New()
	q := f.Filter
	fmt.Fprintf(h, "v1 %q %q %v %v %q %q %q %q %q %t",
		f.Tenant, f.Backend, q.Statuses, q.Severities, q.AssignedTo,
		utc(q.CreatedFrom), utc(q.CreatedBefore), utc(q.UpdatedFrom), utc(q.UpdatedBefore),
		f.WithAlerts)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func utc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// pageTokens issues and checks ListIncidents' page tokens.
type pageTokens struct {
	codec *pagetoken.Codec
	now   func() time.Time
}

// issue returns the token of the page at cursor.
func (p pageTokens) issue(cursor string, fp listFingerprint) (string, error) {
	return p.codec.Encode(listPageToken{Cursor: cursor, Request: fp.digest(), IssuedAt: p.now().Unix()})
}

// open verifies a token's signature and age. The caller still checks that
// its fingerprint matches the request, with matches.
func (p pageTokens) open(token string) (listPageToken, error) {
	var t listPageToken
	if err := p.codec.Decode(token, &t); err != nil {
		return t, fieldError("page_token", invalidPageToken)
	}
	issued, now := time.Unix(t.IssuedAt, 0), p.now()
	if now.Sub(issued) > pageTokenTTL || issued.Sub(now) > pageTokenSkew || t.Cursor == "" {
		return t, fieldError("page_token", invalidPageToken)
	}
	return t, nil
}

// matches checks that t was issued for the request of fp.
func (t listPageToken) matches(fp listFingerprint) error {
	if subtle.ConstantTimeCompare([]byte(t.Request), []byte(fp.digest())) != 1 {
		return fieldError("page_token", invalidPageToken)
	}
	return nil
}
