package service

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
)

var contextKinds = map[string]defenderv1.ContextKind{
	"app":     defenderv1.ContextKind_CONTEXT_KIND_APP,
	"user":    defenderv1.ContextKind_CONTEXT_KIND_USER,
	"partner": defenderv1.ContextKind_CONTEXT_KIND_PARTNER,
}

var credentialKinds = map[string]defenderv1.CredentialKind{
	"client_secret": defenderv1.CredentialKind_CREDENTIAL_KIND_CLIENT_SECRET,
	"certificate":   defenderv1.CredentialKind_CREDENTIAL_KIND_CERTIFICATE,
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
	}
}
