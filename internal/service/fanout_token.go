package service

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/pagetoken"
)

// fanoutPageToken is the signed payload of the page tokens of ListIncidents
// on tenants/-. It uses the same codec, key and age rules as the tokens of
// one tenant, and binds to the same caller and user; the auth context and
// backend are bound per tenant (Bind), as each tenant has its own.
type fanoutPageToken struct {
	// Tenants is the DEFLATE of the JSON of the []fanoutTenantState: the
	// cursors of many tenants share most of their text.
	Tenants []byte `json:"z"`
	// Request is the fingerprint of the request that issued the token.
	Request string `json:"r"`
	// IssuedAt is when the token was issued, in Unix seconds.
	IssuedAt int64 `json:"t"`
}

// fanoutTenantState is one tenant of a listing across tenants that has
// not reached its end. A tenant that did is left out of later tokens.
type fanoutTenantState struct {
	// Tenant is the canonical tenant (its id).
	Tenant string `json:"n"`
	// Bind is a hash of the backend and auth context that served it; a
	// token is refused when they changed (a cursor of one backend means
	// nothing to another).
	Bind string `json:"b,omitempty"`
	tenantPosition
	// Failure is set once the tenant failed: it stays unreachable for the
	// rest of the listing, as its incidents between its last returned one
	// and the pages already returned could no longer be placed in order.
	Failure *fanoutFailure `json:"f,omitempty"`
}

// fanoutFailure is how an unreachable tenant failed.
type fanoutFailure struct {
	Code    int32  `json:"c"`
	Reason  string `json:"r,omitempty"`
	Message string `json:"m,omitempty"`
}

// maxFailureMessage bounds a failure message kept in a token.
const maxFailureMessage = 300

// fanoutFingerprint is what a fan-out token may continue: the same caller
// (and user) with the same filter, view and tenants subset.
type fanoutFingerprint struct {
	Caller, User string
	Filter       defender.IncidentFilter
	WithAlerts   bool
	Subset       []string // the request's tenants, as named
	// Alerts is set on a listing of alerts: the digest of its filter
	// (alertFingerprint without tenant or binding); Filter and WithAlerts
	// are then unused.
	Alerts string
}

func fanoutFingerprintOf(ctx context.Context, filter defender.IncidentFilter, withAlerts bool) fanoutFingerprint {
	b := bindingOf(ctx, authctx.Target{})
	return fanoutFingerprint{Caller: b.Caller, User: b.User, Filter: filter, WithAlerts: withAlerts}
}

// digest hashes the fingerprint like listFingerprint.digest, under a
// prefix of its own, so that no token of one tenant continues a listing
// across tenants or the reverse.
func (f fanoutFingerprint) digest() string {
	h := sha256.New()
	q := f.Filter
	if f.Alerts != "" {
		// A prefix of its own: no incident token continues an alert
		// listing, nor the reverse.
		fmt.Fprintf(h, "fanout alerts v1 %q %q %q tenants %q", f.Caller, f.User, f.Alerts, f.Subset)
		return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	}
	fmt.Fprintf(h, "fanout v1 %q %q %v %v %q %q %q %q %q %t",
		f.Caller, f.User, q.Statuses, q.Severities, q.AssignedTo,
		utc(q.CreatedFrom), utc(q.CreatedBefore), utc(q.UpdatedFrom), utc(q.UpdatedBefore),
		f.WithAlerts)
	if len(f.Subset) > 0 { // absent without a subset: tokens issued before it stay valid
		fmt.Fprintf(h, " tenants %q", f.Subset)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// tenantBind is the Bind of a tenant served by target.
func tenantBind(target authctx.Target) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%q %q", target.Backend.Kind(), target.Context.Name))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// errFanoutTokenTooLarge is returned when the tenants' cursors do not fit
// one page token.
var errFanoutTokenTooLarge = defender.Errorf(defender.KindResourceExhausted, "PAGE_TOKEN_TOO_LARGE",
	"the positions of this listing's tenants do not fit one page token (%d bytes); list fewer tenants at a time", pagetoken.MaxTokenLen)

// issueFanout returns the token of the next page of a listing across
// tenants.
func (p pageTokens) issueFanout(states []fanoutTenantState, fp fanoutFingerprint) (string, error) {
	raw, err := json.Marshal(states)
	if err != nil {
		return "", internalError(err)
	}
	var z bytes.Buffer
	w, err := flate.NewWriter(&z, flate.BestCompression)
	if err != nil {
		return "", internalError(err)
	}
	if _, err := w.Write(raw); err != nil {
		return "", internalError(err)
	}
	if err := w.Close(); err != nil {
		return "", internalError(err)
	}
	token, err := p.codec.Encode(fanoutPageToken{Tenants: z.Bytes(), Request: fp.digest(), IssuedAt: p.now().Unix()})
	if errors.Is(err, pagetoken.ErrTooLarge) {
		return "", errFanoutTokenTooLarge
	}
	return token, err
}

// maxFanoutStates bounds the decompressed tenant states of a token: a
// token is at most 8 KiB, and a forged one never reaches here, so this only
// guards against a bug.
const maxFanoutStates = 1 << 20

// openFanout verifies a token of a listing across tenants: signature, age,
// and that it was issued for the request of fp.
func (p pageTokens) openFanout(token string, fp fanoutFingerprint) ([]fanoutTenantState, error) {
	var t fanoutPageToken
	if err := p.codec.Decode(token, &t); err != nil {
		return nil, fieldError("page_token", invalidPageToken)
	}
	issued, now := time.Unix(t.IssuedAt, 0), p.now()
	if now.Sub(issued) > pageTokenTTL || issued.Sub(now) > pageTokenSkew || len(t.Tenants) == 0 {
		return nil, fieldError("page_token", invalidPageToken)
	}
	if subtle.ConstantTimeCompare([]byte(t.Request), []byte(fp.digest())) != 1 {
		return nil, fieldError("page_token", invalidPageToken)
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(t.Tenants)), maxFanoutStates))
	if err != nil {
		return nil, fieldError("page_token", invalidPageToken)
	}
	var states []fanoutTenantState
	if err := json.Unmarshal(raw, &states); err != nil || len(states) == 0 {
		return nil, fieldError("page_token", invalidPageToken)
	}
	return states, nil
}
