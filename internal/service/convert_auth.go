package service

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/credentials"
)

var contextKinds = map[string]defenderv1.ContextKind{
	"app":     defenderv1.ContextKind_CONTEXT_KIND_APP,
	"user":    defenderv1.ContextKind_CONTEXT_KIND_USER,
	"partner": defenderv1.ContextKind_CONTEXT_KIND_PARTNER,
}

var credentialKinds = map[string]defenderv1.CredentialKind{
	"client_secret":              defenderv1.CredentialKind_CREDENTIAL_KIND_CLIENT_SECRET,
	"certificate":                defenderv1.CredentialKind_CREDENTIAL_KIND_CERTIFICATE,
	authctx.CredentialUserSignIn: defenderv1.CredentialKind_CREDENTIAL_KIND_USER_SIGN_IN,
}

var backends = map[defender.BackendKind]defenderv1.Backend{
	defender.BackendGraph: defenderv1.Backend_BACKEND_GRAPH,
	defender.BackendXDR:   defenderv1.Backend_BACKEND_XDR,
}

var tokenStatuses = map[authctx.TokenStatus]defenderv1.TokenStatus{
	authctx.TokenAvailable:           defenderv1.TokenStatus_TOKEN_STATUS_AVAILABLE,
	authctx.TokenConsentRequired:     defenderv1.TokenStatus_TOKEN_STATUS_CONSENT_REQUIRED,
	authctx.TokenCredentialsRejected: defenderv1.TokenStatus_TOKEN_STATUS_CREDENTIALS_REJECTED,
	authctx.TokenUnavailable:         defenderv1.TokenStatus_TOKEN_STATUS_UNAVAILABLE,
}

// authContextToProto describes a context. Info holds no credential, so
// nothing secret can reach the response; unknown kinds are UNSPECIFIED.
func authContextToProto(info authctx.Info) *defenderv1.AuthContext {
	var checked *timestamppb.Timestamp
	if !info.TokenCheckTime.IsZero() {
		checked = timestamppb.New(info.TokenCheckTime)
	}
	return &defenderv1.AuthContext{
		Name:              info.Name,
		Kind:              contextKinds[info.Kind],
		Tenant:            info.Tenant,
		ClientId:          info.ClientID,
		CredentialKind:    credentialKinds[info.CredentialKind],
		Backend:           backends[info.Backend],
		ApiUrl:            info.APIURL,
		AuthorityHost:     info.AuthorityHost,
		Scope:             info.Scope,
		DisplayName:       info.DisplayName,
		TokenStatus:       tokenStatuses[info.TokenStatus],
		TokenStatusDetail: info.TokenStatusDetail,
		TokenCheckTime:    checked,
		Account:           info.Account,
	}
}

// whoAmIToProto describes what a call would run as; WhoAmI holds no token.
func whoAmIToProto(w authctx.WhoAmI) *defenderv1.WhoAmIResponse {
	return &defenderv1.WhoAmIResponse{
		Caller:            w.Caller,
		CallerDisplayName: w.CallerDisplay,
		Context:           w.Context.Name,
		ContextKind:       contextKinds[w.Context.Kind],
		Tenant:            w.Tenant,
		UpstreamIdentity:  w.UpstreamIdentity,
		Roles:             w.Roles,
		Scopes:            w.Scopes,
		TokenExpireTime:   optionalTime(w.Expiry),
		Backend:           backends[w.Context.Backend],
		AllowedOperations: w.AllowedOperations,
	}
}

var deviceLoginStates = map[credentials.DeviceLoginState]defenderv1.DeviceLoginState{
	credentials.DeviceLoginPending:   defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_PENDING,
	credentials.DeviceLoginCompleted: defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_COMPLETED,
	credentials.DeviceLoginFailed:    defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_FAILED,
	credentials.DeviceLoginExpired:   defenderv1.DeviceLoginState_DEVICE_LOGIN_STATE_EXPIRED,
}

// deviceLoginToProto describes a device-code sign-in; it holds no token.
func deviceLoginToProto(l credentials.DeviceLogin) *defenderv1.DeviceLogin {
	return &defenderv1.DeviceLogin{
		Name:            deviceLoginName(l.Tenant, l.ID),
		State:           deviceLoginStates[l.State],
		UserCode:        l.UserCode,
		VerificationUri: l.VerificationURI,
		Message:         l.Message,
		ExpireTime:      optionalTime(l.ExpiresAt),
		CreateTime:      optionalTime(l.CreatedAt),
		Account:         l.Account,
		ErrorDetail:     l.ErrorDetail,
	}
}

func optionalTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
