package callerauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc/metadata"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/entratoken"
)

// TokenValidator validates an Entra ID access token presented to the
// gateway (a caller token in jwt mode, a user token for on-behalf-of).
type TokenValidator interface {
	Validate(ctx context.Context, raw string) (*entratoken.Claims, error)
}

// Options configure an Authenticator.
type Options struct {
	// Mode is the caller authentication mode; empty is none.
	Mode config.CallerAuthMode
	// APIKeysFile is the YAML keys file (api-key mode).
	APIKeysFile string
	// Tokens validates bearer tokens. Required in jwt mode; in the other
	// modes without it a presented bearer token is refused (NOT_CONFIGURED).
	Tokens TokenValidator
	// AppRole is the app role (`roles`) an app token must carry in jwt
	// mode; empty is config.DefaultCallerAppRole.
	AppRole string
	// UserScope is the delegated scope (`scp`) a user token must carry, in
	// jwt mode and for on-behalf-of in every mode; empty is
	// config.DefaultCallerScope.
	UserScope string
}

// Authenticator authenticates calls. It is safe for concurrent use.
type Authenticator struct {
	mode      config.CallerAuthMode
	keysFile  string
	keys      atomic.Pointer[keySet]
	tokens    TokenValidator
	appRole   string
	userScope string
}

// New builds an Authenticator; in api-key mode it loads the keys file.
func New(opts Options) (*Authenticator, error) {
	if opts.Mode == "" {
		opts.Mode = config.CallerAuthNone
	}
	a := &Authenticator{mode: opts.Mode, keysFile: opts.APIKeysFile, tokens: opts.Tokens,
		appRole: cmp.Or(opts.AppRole, config.DefaultCallerAppRole), userScope: cmp.Or(opts.UserScope, config.DefaultCallerScope)}
	switch opts.Mode {
	case config.CallerAuthNone, config.CallerAuthMTLS:
	case config.CallerAuthAPIKey:
		if opts.APIKeysFile == "" {
			return nil, errors.New("caller auth api-key: no API keys file")
		}
		keys, err := loadAPIKeys(opts.APIKeysFile)
		if err != nil {
			return nil, err
		}
		a.keys.Store(keys)
	case config.CallerAuthJWT:
		if opts.Tokens == nil {
			return nil, errors.New("caller auth jwt: no token validator")
		}
	default:
		return nil, fmt.Errorf("caller auth: unknown mode %q", opts.Mode)
	}
	return a, nil
}

// Mode is the caller authentication mode.
func (a *Authenticator) Mode() config.CallerAuthMode { return a.mode }

// Reload re-reads the API keys file (api-key mode; otherwise it does
// nothing). An invalid file keeps the current keys and returns the error.
func (a *Authenticator) Reload() error {
	if a.mode != config.CallerAuthAPIKey {
		return nil
	}
	keys, err := loadAPIKeys(a.keysFile)
	if err != nil {
		return err
	}
	a.keys.Store(keys)
	return nil
}

// Credentials are what a call presents.
type Credentials struct {
	// Metadata is the call's incoming metadata (REST headers are forwarded
	// into it).
	Metadata metadata.MD
	// CertificateIdentity is "mtls:..." (CertificateIdentity) of a client
	// certificate the transport verified against the client CAs, or "".
	// Only the transport may set it.
	CertificateIdentity string
}

// Authenticate returns the caller of a call, or a *defender.Error:
// KindUnauthenticated for a missing or rejected credential,
// KindInvalidArgument for a malformed account header.
func (a *Authenticator) Authenticate(ctx context.Context, in Credentials) (*caller.Request, error) {
	r := &caller.Request{}
	account, err := accountFrom(in.Metadata)
	if err != nil {
		return nil, err
	}
	r.Account = account
	bearer, hasBearer, err := bearerFrom(in.Metadata)
	if err != nil {
		return nil, err
	}

	switch a.mode {
	case config.CallerAuthNone:
		r.Identity = caller.Identity{Kind: caller.KindAnonymous, Name: "anonymous"}
	case config.CallerAuthMTLS:
		if in.CertificateIdentity == "" {
			return nil, defender.Errorf(defender.KindUnauthenticated, defender.ReasonClientCertificateRequired,
				"a client certificate issued by a trusted CA is required")
		}
		r.Identity = caller.Identity{Kind: caller.KindCertificate, Name: in.CertificateIdentity}
	case config.CallerAuthAPIKey:
		name, err := a.keys.Load().match(in.Metadata.Get(caller.HeaderAPIKey))
		if err != nil {
			return nil, err
		}
		r.Identity = caller.Identity{Kind: caller.KindAPIKey, Name: "api-key:" + name}
	case config.CallerAuthJWT:
		if !hasBearer {
			return nil, defender.Errorf(defender.KindUnauthenticated, defender.ReasonCallerCredentialsMissing,
				"an Entra ID access token is required: authorization: Bearer <token>")
		}
		claims, err := a.validate(ctx, bearer)
		if err != nil {
			return nil, err
		}
		if !claims.IsUser {
			if err := a.requireAppRole(claims); err != nil {
				return nil, err
			}
			r.Identity = caller.Identity{Kind: caller.KindApp, Name: "app:" + strings.ToLower(claims.AppID)}
			return r, nil
		}
		if err := a.requireUserScope(claims); err != nil {
			return nil, err
		}
		r.Identity = userIdentity(claims)
		r.UserToken = userToken(bearer, claims)
		return r, nil
	default:
		return nil, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "unknown caller auth mode")
	}

	if hasBearer {
		ut, err := a.userTokenFor(ctx, bearer)
		if err != nil {
			return nil, err
		}
		r.UserToken = ut
	}
	return r, nil
}

// userTokenFor validates a bearer token presented for on-behalf-of.
func (a *Authenticator) userTokenFor(ctx context.Context, raw string) (*caller.UserToken, error) {
	if a.tokens == nil {
		return nil, defender.Errorf(defender.KindFailedPrecondition, defender.ReasonNotConfigured,
			"the gateway does not accept user tokens: no token validation is configured")
	}
	claims, err := a.validate(ctx, raw)
	if err != nil {
		return nil, err
	}
	if !claims.IsUser {
		e := defender.Errorf(defender.KindUnauthenticated, defender.ReasonTokenInvalid,
			"the bearer token is an app token; on-behalf-of needs a user's token")
		e.Metadata = map[string]string{"check": "user"}
		return nil, e
	}
	if err := a.requireUserScope(claims); err != nil {
		return nil, err
	}
	return userToken(raw, claims), nil
}

func userToken(raw string, c *entratoken.Claims) *caller.UserToken {
	return &caller.UserToken{
		Raw:          raw,
		Tenant:       c.Tenant,
		ObjectID:     c.ObjectID,
		UPN:          c.UPN,
		ServedTenant: c.ConfiguredTenant,
		ClientID:     c.AppID,
		Scopes:       c.Scopes,
		Expiry:       c.Expiry,
	}
}

// bearerFrom returns the token of "authorization: Bearer <token>".
func bearerFrom(md metadata.MD) (token string, ok bool, err error) {
	values := md.Get(caller.HeaderAuthorization)
	switch len(values) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", false, tokenInvalid("malformed", "more than one authorization header")
	}
	scheme, token, found := strings.Cut(strings.TrimSpace(values[0]), " ")
	token = strings.TrimSpace(token)
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false, tokenInvalid("malformed", "the authorization header must be: Bearer <token>")
	}
	return token, true, nil
}

func tokenInvalid(check, message string) *defender.Error {
	e := defender.Errorf(defender.KindUnauthenticated, defender.ReasonTokenInvalid, "%s", message)
	e.Metadata = map[string]string{"check": check}
	return e
}
