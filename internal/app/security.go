package app

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/defender-gateway/gateway/internal/audit"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/callerauth"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/entratoken"
	"github.com/defender-gateway/gateway/internal/policy"
	"github.com/defender-gateway/gateway/internal/server"
)

// callerSecurity is who may call the gateway and what is recorded of it:
// caller authentication, the authorization policy, the audit log and the
// listeners' TLS.
type callerSecurity struct {
	authn    *callerauth.Authenticator
	policies *policy.Store
	audit    *audit.Logger
	tls      *tls.Config
	tlsFiles *server.TLSFiles // reloaded with the policy; nil without TLS
	closer   io.Closer        // the audit file, or nil
}

// buildCallerSecurity assembles caller security from a validated config.
// Tokens presented by callers (jwt mode, or a user's token for
// on-behalf-of in any mode) are validated against the home authority for
// every tenant the registry serves.
func buildCallerSecurity(cfg *config.Config, contexts *authctx.Registry, httpClient *http.Client, logger *slog.Logger) (*callerSecurity, error) {
	validator, err := entratoken.New(entratoken.Options{
		AuthorityHost: cfg.AuthorityHost,
		Audiences:     cfg.EffectiveCallerAudiences(),
		Tenants:       contexts.ServedTenants(),
		HTTPClient:    httpClient,
	})
	if err != nil {
		return nil, err
	}
	authn, err := callerauth.New(callerauth.Options{Mode: cfg.CallerAuth, APIKeysFile: cfg.APIKeysFile, Tokens: validator,
		AppRole: cfg.CallerAppRole, UserScope: cfg.CallerScope})
	if err != nil {
		return nil, err
	}
	s := &callerSecurity{authn: authn}
	// Validate refuses a mode other than none without a policy file; with
	// none and no file every caller may do everything.
	if cfg.PolicyFile != "" {
		if s.policies, err = policy.NewStore(cfg.PolicyFile, contexts.Canonical); err != nil {
			return nil, err
		}
	} else {
		s.policies = policy.StaticStore(policy.AllowAll())
	}
	auditOpts := audit.Options{QueryText: cfg.AuditQueryText}
	if cfg.AuditLogFile != "" {
		if s.audit, s.closer, err = audit.OpenFile(cfg.AuditLogFile, auditOpts); err != nil {
			return nil, err
		}
	} else {
		s.audit = audit.ToMainLog(logger, auditOpts)
	}
	if cfg.TLSCertFile != "" {
		if s.tlsFiles, err = server.NewTLSFiles(cfg.TLSCertFile, cfg.TLSKeyFile, cfg.ClientCAFile); err != nil {
			s.close()
			return nil, err
		}
		s.tls = s.tlsFiles.Config()
	}
	return s, nil
}

// reload re-reads the API keys, the policy and the TLS files. A file that
// fails keeps the previous version in force; each is reloaded on its own.
func (s *callerSecurity) reload() error {
	errs := []error{s.authn.Reload(), s.policies.Reload()}
	if s.tlsFiles != nil {
		errs = append(errs, s.tlsFiles.Reload())
	}
	return errors.Join(errs...)
}

func (s *callerSecurity) close() {
	if s.closer != nil {
		s.closer.Close()
	}
}
