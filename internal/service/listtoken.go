package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/caller"
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
// caller in the same auth context, and the same canonical tenant, backend,
// filter and view. page_size is left out: AIP-158 lets it change between
// pages.
type listFingerprint struct {
	Binding    binding
	Tenant     string
	Backend    defender.BackendKind
	Filter     defender.IncidentFilter
	WithAlerts bool
}

// binding is who may continue a listing: the authenticated caller (its
// policy name) and the auth context that served it, with the user of a
// user context (the on-behalf-of user's tenant and object id, or the
// signed-in account). A token issued to one caller, or in one context, is
// refused for any other exactly like a forged token, so a refusal says
// nothing about whom the token was issued to.
type binding struct {
	Caller  string
	Context string
	User    string
}

// bindingOf is the binding of the call in ctx, served by target. A call
// without a caller (only outside the server's interceptors) binds to "".
func bindingOf(ctx context.Context, target authctx.Target) binding {
	b := binding{Context: target.Context.Name}
	req := caller.FromContext(ctx)
	if req == nil {
		return b
	}
	b.Caller = req.Identity.Name
	switch {
	case req.UserToken != nil:
		b.User = "oid:" + strings.ToLower(req.UserToken.Tenant+"/"+req.UserToken.ObjectID)
	case req.Account != "":
		b.User = "account:" + strings.ToLower(req.Account)
	}
	return b
}

// digest is a short, stable hash of the fingerprint; the token carries only
// the hash, so it reveals neither the caller nor the filters. Every string
// is quoted, so no two fingerprints print alike, and times print in UTC.
func (f listFingerprint) digest() string {
	h := sha256.New()
	q, b := f.Filter, f.Binding
	fmt.Fprintf(h, "v2 %q %q %q %q %q %v %v %q %q %q %q %q %t",
		b.Caller, b.Context, b.User,
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
