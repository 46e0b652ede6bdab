package credentials

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// OnBehalfOfOptions configure the on-behalf-of token source of one tenant:
// the gateway's app registration and credential, as for the app context.
// TenantID is the tenant of the users whose tokens are exchanged; Scope the
// one scope the delegated tokens are for.
type OnBehalfOfOptions = AppOptions

// OnBehalfOf is the token source of the user context for a presented user
// token: it exchanges the caller's token (caller.FromContext(ctx).UserToken)
// for a delegated token of Scope through an MSAL confidential client's
// on-behalf-of grant. MSAL caches the result per assertion; concurrent cold
// calls with the same user token share one request. One OnBehalfOf serves
// one tenant and every user of it. It is safe for concurrent use.
type OnBehalfOf struct {
	confidentialSource
	opts OnBehalfOfOptions
	now  func() time.Time

	mu        sync.Mutex
	clientAge time.Time // when the current client (and its cache) began
}

// oboCacheLifetime bounds how long one MSAL client, and so its in-memory
// cache of on-behalf-of tokens, is kept. MSAL keeps one entry per user token
// and never evicts; replacing the client drops them all, at the price of one
// exchange per active user afterwards. Entra's tokens last about an hour.
const oboCacheLifetime = 2 * time.Hour

var _ defender.TokenSource = (*OnBehalfOf)(nil)

// NewOnBehalfOf validates opts and builds the MSAL client. It makes no
// request.
func NewOnBehalfOf(opts OnBehalfOfOptions) (*OnBehalfOf, error) {
	src, err := newConfidentialSource(opts)
	if err != nil {
		return nil, err
	}
	return &OnBehalfOf{confidentialSource: src, opts: opts, now: time.Now, clientAge: time.Now()}, nil
}

// currentClient returns the MSAL client, replacing it (and so emptying
// the token cache) once it is older than oboCacheLifetime.
func (o *OnBehalfOf) currentClient() *confidential.Client {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.now().Sub(o.clientAge) < oboCacheLifetime {
		return o.client
	}
	client, _, err := newConfidentialClient(o.opts)
	if err != nil {
		// The options built a client before; keep the old one.
		o.logger.Warn("on-behalf-of: could not renew the MSAL client; keeping its cache", "tenant", o.tenant, "error", err)
		o.clientAge = o.now()
		return o.client
	}
	o.client, o.clientAge = client, o.now()
	return client
}

// errNoUserToken is the wiring bug of a call without a user token.
var errNoUserToken = errors.New("credentials: the on-behalf-of token source was called without a user token in the context")

// Token returns a delegated token for the user whose token the call
// presented.
func (o *OnBehalfOf) Token(ctx context.Context) (string, error) {
	req := caller.FromContext(ctx)
	if req == nil || req.UserToken == nil || req.UserToken.Raw == "" {
		return "", &defender.Error{Kind: defender.KindInternal, Reason: defender.ReasonInternal,
			Message: "internal error", Cause: errNoUserToken}
	}
	assertion := req.UserToken.Raw
	// The key names the assertion without holding it.
	sum := sha256.Sum256([]byte(assertion))
	return o.shared.acquire(ctx, "obo:"+hex.EncodeToString(sum[:]), func(ctx context.Context) (string, error) {
		return o.exchange(ctx, assertion, req.UserToken)
	})
}

// exchange runs one on-behalf-of acquisition.
func (o *OnBehalfOf) exchange(ctx context.Context, assertion string, user *caller.UserToken) (string, error) {
	res, err := o.currentClient().AcquireTokenOnBehalfOf(ctx, assertion, o.scopes)
	observeToken(o.observer, err == nil && res.Metadata.TokenSource == confidential.TokenSourceIdentityProvider, err)
	if err != nil {
		e := o.mapper.mapUserError(err, ctx.Err() != nil, flowOnBehalfOf)
		scrubCause(e, assertion)
		o.logger.LogAttrs(ctx, slog.LevelDebug, "on-behalf-of exchange failed",
			slog.String("tenant", o.tenant), slog.String("upn", user.UPN), slog.String("reason", e.Reason),
			slog.Int("upstream_status", e.UpstreamStatus))
		return "", e
	}
	if res.Metadata.TokenSource == confidential.TokenSourceIdentityProvider {
		o.logger.LogAttrs(ctx, slog.LevelDebug, "on-behalf-of token acquired from Entra ID",
			slog.String("tenant", o.tenant), slog.String("upn", user.UPN), slog.String("scope", o.scopes[0]),
			slog.Time("expires_on", res.ExpiresOn))
	}
	return res.AccessToken, nil
}

// scrubCause replaces e's cause by its text without secret, if it holds it.
func scrubCause(e *defender.Error, secret string) {
	if e.Cause != nil && secret != "" && strings.Contains(e.Cause.Error(), secret) {
		e.Cause = errors.New(strings.ReplaceAll(e.Cause.Error(), secret, redactedSecret))
	}
	if strings.Contains(e.Message, secret) && secret != "" {
		e.Message = strings.ReplaceAll(e.Message, secret, redactedSecret)
	}
}

// String describes the source without its credential.
func (o *OnBehalfOf) String() string {
	return fmt.Sprintf("credentials.OnBehalfOf{tenant: %s, client: %s, credential: %s}", o.tenant, o.clientID, o.kind)
}

// GoString is String, so %#v prints no credential either.
func (o *OnBehalfOf) GoString() string { return o.String() }
