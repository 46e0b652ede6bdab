package server

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/defender-gateway/gateway/internal/audit"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/callerauth"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/policy"
	"github.com/defender-gateway/gateway/internal/service"
)

// inprocCertIdentityKey carries, on the in-memory connection only, the
// caller identity of the client certificate the HTTP listener verified for
// a REST call. It is trusted only from the in-memory connection and removed
// from every call's metadata before authentication, so a direct gRPC
// caller cannot forge it; the REST gateway never forwards a header to it.
const inprocCertIdentityKey = "x-defender-gateway-inproc-mtls-identity-bin"

// credentialsOf returns ctx without the internal metadata, and what the
// call presents: its metadata and the identity of a verified client
// certificate — from the TLS handshake of a direct gRPC connection, or
// from inprocCertIdentityKey on the in-memory connection.
func credentialsOf(ctx context.Context) (context.Context, callerauth.Credentials) {
	md, _ := metadata.FromIncomingContext(ctx)
	md = md.Copy()
	forwarded := md.Get(inprocCertIdentityKey)
	md.Delete(inprocCertIdentityKey)
	ctx = metadata.NewIncomingContext(ctx, md)

	creds := callerauth.Credentials{Metadata: md}
	if fromInproc(ctx) {
		if len(forwarded) == 1 {
			creds.CertificateIdentity = forwarded[0]
		}
		return ctx, creds
	}
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.VerifiedChains) > 0 && len(info.State.PeerCertificates) > 0 {
			creds.CertificateIdentity = callerauth.CertificateIdentity(info.State.PeerCertificates[0])
		}
	}
	return ctx, creds
}

// callerGuard authenticates and authorizes API calls.
type callerGuard struct {
	authn  *callerauth.Authenticator
	policy *policy.Store
}

// authenticate puts the caller in the context, or answers the call with
// the authentication error. Public methods (health, reflection) pass
// without a caller.
func (g *callerGuard) authenticate(ctx context.Context, method string) (context.Context, error) {
	ctx, creds := credentialsOf(ctx)
	if policy.Public(method) {
		return ctx, nil
	}
	r, err := g.authn.Authenticate(ctx, creds)
	if err != nil {
		return ctx, service.ToStatus(err).Err()
	}
	audit.SetCaller(ctx, r)
	setLogCaller(ctx, r.Identity.Name)
	return caller.NewContext(ctx, r), nil
}

// authorize answers the call with the policy's denial, if any.
func (g *callerGuard) authorize(ctx context.Context, method string, req any) error {
	if policy.Public(method) {
		return nil
	}
	r := caller.FromContext(ctx)
	if r == nil {
		return internalError()
	}
	if _, tenant, ok := policy.Resource(req); ok {
		setLogTenant(ctx, tenant)
	}
	if err := g.policy.Authorize(r, method, req); err != nil {
		return service.ToStatus(err).Err()
	}
	return nil
}

func (g *callerGuard) unaryAuthenticate(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	ctx, err := g.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return next(ctx, req)
}

func (g *callerGuard) streamAuthenticate(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	ctx, err := g.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return next(srv, &contextStream{ServerStream: ss, ctx: ctx})
}

func (g *callerGuard) unaryAuthorize(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if err := g.authorize(ctx, info.FullMethod, req); err != nil {
		return nil, err
	}
	return next(ctx, req)
}

// streamAuthorize decides a server-streaming call (one request, then a
// stream of answers: StreamQuery) on its request, as a unary call is
// decided, when the handler receives it and before it does anything else.
// Any other stream is decided when it opens, before any request arrives: a
// tenant-scoped one is allowed only to callers allowed every tenant.
func (g *callerGuard) streamAuthorize(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	if info.IsServerStream && !info.IsClientStream {
		return next(srv, &authorizingStream{ServerStream: ss, g: g, method: info.FullMethod})
	}
	if err := g.authorize(ss.Context(), info.FullMethod, nil); err != nil {
		return err
	}
	return next(srv, ss)
}

// authorizingStream authorizes the one request of a server stream.
type authorizingStream struct {
	grpc.ServerStream
	g       *callerGuard
	method  string
	decided bool
}

func (s *authorizingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if !s.decided {
		s.decided = true
		if err := s.g.authorize(s.Context(), s.method, m); err != nil {
			return err
		}
	}
	return nil
}

// newCallerGuard checks the caller authentication options together: a
// missing policy is allowed only with caller authentication none, and mtls
// needs TLS with client CAs.
func newCallerGuard(opts Options) (*callerGuard, error) {
	authn := opts.CallerAuth
	if authn == nil {
		var err error
		if authn, err = callerauth.New(callerauth.Options{Mode: config.CallerAuthNone}); err != nil {
			return nil, err
		}
	}
	store := opts.Policy
	if store == nil {
		if authn.Mode() != config.CallerAuthNone {
			return nil, fmt.Errorf("server: caller authentication %s needs an authorization policy", authn.Mode())
		}
		store = policy.StaticStore(policy.AllowAll())
	}
	if authn.Mode() == config.CallerAuthMTLS && (opts.TLS == nil || opts.TLS.ClientCAs == nil) {
		return nil, errors.New("server: caller authentication mtls needs TLS with client CAs")
	}
	return &callerGuard{authn: authn, policy: store}, nil
}
