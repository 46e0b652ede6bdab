package credentials

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// OnBehalfOfOptions configure the on-behalf-of token source of one tenant.
type OnBehalfOfOptions struct {
	// AuthorityHost is the Entra ID host, e.g. https://login.microsoftonline.com.
	AuthorityHost string
	// TenantID is the tenant GUID or one of its verified domains: the
	// tenant of the users whose tokens are exchanged.
	TenantID string
	// ClientID, ClientSecret and CertificatePEM are the gateway's app
	// registration and its credential (exactly one of the two), as for
	// AppOptions.
	ClientID       string
	ClientSecret   string
	CertificatePEM []byte
	// Scope is the one scope tokens are for, e.g.
	// https://api.security.microsoft.com/.default.
	Scope string
	// HTTPClient makes every request to Entra ID; nil is http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives debug records of exchanges (never a token).
	Logger *slog.Logger
}

// OnBehalfOf is the token source of the user context for a presented user
// token: it exchanges the caller's token (caller.FromContext(ctx).UserToken)
// for a delegated token of Scope through an MSAL confidential client's
// on-behalf-of grant. MSAL caches the result per assertion; concurrent cold
// calls with the same user token share one request. One OnBehalfOf serves
// one tenant and every user of it. It is safe for concurrent use.
type OnBehalfOf struct {
	client   *confidential.Client
	scopes   []string
	tenant   string
	clientID string
	kind     string
	shared   *sharedAcquirer
	mapper   *tokenErrorMapper
	logger   *slog.Logger
}

var _ defender.TokenSource = (*OnBehalfOf)(nil)

// NewOnBehalfOf validates opts and builds the MSAL client. It makes no
// request.
func NewOnBehalfOf(opts OnBehalfOfOptions) (*OnBehalfOf, error) {
	if err := checkAppOptions(AppOptions{ClientID: opts.ClientID, Scope: opts.Scope}); err != nil {
		return nil, err
	}
	authority, instanceDiscovery, err := authorityURL(opts.AuthorityHost, opts.TenantID)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	cred, kind, err := newCredential(opts.ClientSecret, opts.CertificatePEM)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	httpClient := opts.HTTPClient
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	client, err := confidential.New(authority, opts.ClientID, cred,
		confidential.WithHTTPClient(httpClient),
		confidential.WithInstanceDiscovery(instanceDiscovery))
	if err != nil {
		return nil, fmt.Errorf("credentials: build MSAL client for %s: %v", authority, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	shared := newSharedAcquirer(0)
	return &OnBehalfOf{
		client:   &client,
		scopes:   []string{opts.Scope},
		tenant:   opts.TenantID,
		clientID: opts.ClientID,
		kind:     kind,
		shared:   shared,
		mapper:   &tokenErrorMapper{secret: opts.ClientSecret, timeout: shared.timeout, tenant: opts.TenantID},
		logger:   logger,
	}, nil
}

// CredentialKind says how the app authenticates: KindClientSecret or
// KindCertificate.
func (o *OnBehalfOf) CredentialKind() string { return o.kind }

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
	res, err := o.client.AcquireTokenOnBehalfOf(ctx, assertion, o.scopes)
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
