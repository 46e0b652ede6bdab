package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/defender-gateway/gateway/internal/defender"
)

// AppOptions configure the application context's token source.
type AppOptions struct {
	// AuthorityHost is the Entra ID host, e.g. https://login.microsoftonline.com.
	AuthorityHost string
	// TenantID is the tenant GUID or one of its verified domains.
	TenantID string
	// ClientID is the app registration's application (client) id.
	ClientID string
	// ClientSecret and CertificatePEM are the credential: exactly one is set.
	// CertificatePEM holds the certificate and its private key.
	ClientSecret   string
	CertificatePEM []byte
	// Scope is the one scope tokens are for, e.g.
	// https://graph.microsoft.com/.default.
	Scope string
	// HTTPClient makes every request to Entra ID; nil is http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives debug records of token acquisitions (never a token).
	Logger *slog.Logger
	// AcquireTimeout bounds one request to Entra ID shared by concurrent
	// callers; 0 means 30s.
	AcquireTimeout time.Duration
	// Observer sees every acquisition (metrics); nil sees none.
	Observer TokenObserver
}

// App is the token source of the application context: client credentials
// for one tenant and scope through an MSAL confidential client. Its cache
// serves every call until five minutes before the token expires; concurrent
// cold calls share one request to Entra ID. It is safe for concurrent use.
type App struct {
	confidentialSource
}

// confidentialSource is what App and OnBehalfOf share: an MSAL
// confidential client of one tenant and scope, with the gateway's
// credential, the shared acquisition and the error mapping.
type confidentialSource struct {
	client   *confidential.Client
	scopes   []string
	tenant   string
	clientID string
	kind     string
	shared   *sharedAcquirer
	mapper   *tokenErrorMapper
	logger   *slog.Logger
	observer TokenObserver
}

var _ defender.TokenSource = (*App)(nil)

// NewApp validates opts and builds the MSAL client. It makes no request:
// the first Token call discovers the authority and acquires the token.
func NewApp(opts AppOptions) (*App, error) {
	src, err := newConfidentialSource(opts)
	if err != nil {
		return nil, err
	}
	return &App{src}, nil
}

// newConfidentialSource validates opts and builds the MSAL confidential
// client. It makes no request.
func newConfidentialSource(opts AppOptions) (confidentialSource, error) {
	if err := checkAppOptions(opts); err != nil {
		return confidentialSource{}, err
	}
	client, kind, err := newConfidentialClient(opts)
	if err != nil {
		return confidentialSource{}, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	shared := newSharedAcquirer(opts.AcquireTimeout)
	return confidentialSource{
		client:   client,
		scopes:   []string{opts.Scope},
		tenant:   opts.TenantID,
		clientID: opts.ClientID,
		kind:     kind,
		shared:   shared,
		mapper:   &tokenErrorMapper{secret: opts.ClientSecret, timeout: shared.timeout, tenant: opts.TenantID},
		logger:   logger,
		observer: opts.Observer,
	}, nil
}

// newConfidentialClient builds an MSAL confidential client, with an empty
// token cache, and names the kind of its credential.
func newConfidentialClient(opts AppOptions) (*confidential.Client, string, error) {
	authority, instanceDiscovery, err := authorityURL(opts.AuthorityHost, opts.TenantID)
	if err != nil {
		return nil, "", fmt.Errorf("credentials: %w", err)
	}
	cred, kind, err := newCredential(opts.ClientSecret, opts.CertificatePEM)
	if err != nil {
		return nil, "", fmt.Errorf("credentials: %w", err)
	}
	httpClient := opts.HTTPClient
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	client, err := confidential.New(authority, opts.ClientID, cred,
		confidential.WithHTTPClient(httpClient),
		confidential.WithInstanceDiscovery(instanceDiscovery))
	if err != nil {
		return nil, "", fmt.Errorf("credentials: build MSAL client for %s: %v", authority, err)
	}
	return &client, kind, nil
}

func checkAppOptions(opts AppOptions) error {
	var errs []error
	if opts.ClientID == "" {
		errs = append(errs, errors.New("client ID is required"))
	}
	if opts.Scope == "" {
		errs = append(errs, errors.New("scope is required"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("credentials: %w", errors.Join(errs...))
	}
	return nil
}

// CredentialKind says how the app authenticates: KindClientSecret or
// KindCertificate.
func (c *confidentialSource) CredentialKind() string { return c.kind }

// Token returns a bearer token for the configured scope, from MSAL's cache
// when it holds one that is not within five minutes of expiring.
func (a *App) Token(ctx context.Context) (string, error) {
	return a.shared.acquire(ctx, "app", a.acquire)
}

// acquire runs one MSAL acquisition under the shared, bounded context.
func (a *App) acquire(ctx context.Context) (string, error) {
	res, err := a.client.AcquireTokenByCredential(ctx, a.scopes)
	observeToken(a.observer, err == nil && res.Metadata.TokenSource == confidential.TokenSourceIdentityProvider, err)
	if err != nil {
		e := a.mapper.mapError(err, ctx.Err() != nil)
		a.logger.LogAttrs(ctx, slog.LevelDebug, "token acquisition failed",
			slog.String("tenant", a.tenant), slog.String("reason", e.Reason),
			slog.Int("upstream_status", e.UpstreamStatus))
		return "", e
	}
	if res.Metadata.TokenSource == confidential.TokenSourceIdentityProvider {
		a.logger.LogAttrs(ctx, slog.LevelDebug, "token acquired from Entra ID",
			slog.String("tenant", a.tenant), slog.String("scope", a.scopes[0]),
			slog.Time("expires_on", res.ExpiresOn))
	}
	return res.AccessToken, nil
}

// String describes the source without its credential.
func (a *App) String() string {
	return fmt.Sprintf("credentials.App{tenant: %s, client: %s, credential: %s}", a.tenant, a.clientID, a.kind)
}

// GoString is String, so %#v prints no credential either.
func (a *App) GoString() string { return a.String() }
