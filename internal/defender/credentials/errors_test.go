package credentials

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/defender-gateway/gateway/internal/defender"
)

const testSecret = "s3cr3t-value-7f2b"

// callErr builds the error MSAL returns for an HTTP error answer, with the
// credential in its request as MSAL has it.
func callErr(status int, header http.Header, body string) error {
	form := "grant_type=client_credentials&client_secret=" + testSecret
	req, _ := http.NewRequest(http.MethodPost, "https://login.example/t/oauth2/v2.0/token", strings.NewReader(form))
	resp := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewBufferString(body)), Request: req}
	return fmt.Errorf("wrapped by MSAL: %w", msalerrors.CallErr{
		Req:  req,
		Resp: resp,
		// Make sure the scrubbing, not the luck of Entra's wording, keeps the
		// secret out.
		Err: fmt.Errorf("http call(%s)(POST) error: reply status code was %d:\n%s (echo %s)", req.URL, status, body, testSecret),
	})
}

func TestMapError(t *testing.T) {
	tests := []struct {
		name           string
		err            error
		timedOut       bool
		wantKind       defender.ErrorKind
		wantReason     string
		wantMessage    string
		wantStatus     int
		wantCode       string
		wantRequestID  string
		wantRetryAfter time.Duration
	}{
		{
			name: "invalid client secret",
			err: callErr(401, nil, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.",`+
				`"error_codes":[7000215],"trace_id":"trace-1","correlation_id":"corr-1"}`),
			wantKind: defender.KindUpstreamAuth, wantReason: defender.ReasonTokenAcquisition,
			wantMessage: "Entra ID rejected the gateway's credentials (invalid_client, AADSTS7000215): the client secret is wrong",
			wantStatus:  401, wantCode: "invalid_client", wantRequestID: "trace-1",
		},
		{
			name:     "missing consent, code only in error_codes",
			err:      callErr(400, nil, `{"error":"invalid_grant","error_description":"The app needs consent.","error_codes":[65001],"correlation_id":"corr-2"}`),
			wantKind: defender.KindFailedPrecondition, wantReason: defender.ReasonConsentRequired,
			wantMessage: "tenant fabrikam.example has not granted the gateway's app admin consent (AADSTS65001): an administrator of the tenant must consent",
			wantStatus:  400, wantCode: "invalid_grant", wantRequestID: "corr-2",
		},
		{
			name:     "an error code that is not one is dropped",
			err:      callErr(400, nil, `{"error":"<script>","error_description":"AADSTS70011: bad scope"}`),
			wantKind: defender.KindUpstreamAuth, wantReason: defender.ReasonTokenAcquisition,
			wantMessage: "Entra ID rejected the gateway's token request (AADSTS70011): the scope is not valid",
			wantStatus:  400,
		},
		{
			name:     "4xx without a body",
			err:      callErr(403, nil, ""),
			wantKind: defender.KindUpstreamAuth, wantReason: defender.ReasonTokenAcquisition,
			wantMessage: "Entra ID rejected the gateway's token request", wantStatus: 403,
		},
		{
			name:     "unavailable",
			err:      callErr(503, http.Header{"Retry-After": {"7"}}, `{"error":"temporarily_unavailable","error_description":"AADSTS90033: transient"}`),
			wantKind: defender.KindUnavailable, wantReason: defender.ReasonUnavailable,
			wantMessage: "Entra ID could not issue a token (HTTP 503)", wantStatus: 503,
			wantCode: "temporarily_unavailable", wantRetryAfter: 7 * time.Second,
		},
		{
			name:     "throttled",
			err:      callErr(429, http.Header{"Retry-After": {"3"}}, `{"error":"temporarily_unavailable","error_description":"AADSTS50196: loop"}`),
			wantKind: defender.KindThrottled, wantReason: defender.ReasonThrottled,
			wantMessage: "Entra ID is throttling the gateway's token requests (temporarily_unavailable, AADSTS50196)",
			wantStatus:  429, wantCode: "temporarily_unavailable", wantRetryAfter: 3 * time.Second,
		},
		{
			name:     "connection refused",
			err:      fmt.Errorf("server response error:\n %w", &url.Error{Op: "Post", URL: "https://login.example/t", Err: errors.New("connection refused")}),
			wantKind: defender.KindUnavailable, wantReason: defender.ReasonUnavailable,
			wantMessage: "Entra ID could not be reached",
		},
		{
			name:     "shared acquisition timed out",
			err:      errors.New("context deadline exceeded"),
			timedOut: true,
			wantKind: defender.KindUnavailable, wantReason: defender.ReasonUnavailable,
			wantMessage: "Entra ID did not issue a token within 30s",
		},
		{
			name:     "unreadable token response",
			err:      msalerrors.InvalidJsonErr{Err: errors.New(`json decode error: raw message was: {"access_token":"eyJ-leaked` + testSecret)},
			wantKind: defender.KindInternal, wantReason: defender.ReasonTokenAcquisition,
			wantMessage: "Entra ID answered the token request with an unreadable response",
		},
		{
			name:     "anything else",
			err:      errors.New("MSAL could not do it: " + testSecret),
			wantKind: defender.KindInternal, wantReason: defender.ReasonTokenAcquisition,
			wantMessage: "the gateway could not obtain a token from Entra ID",
		},
	}
	mapper := tokenErrorMapper{secret: testSecret, timeout: 30 * time.Second, tenant: "fabrikam.example"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapper.mapError(tt.err, tt.timedOut)
			if got.Kind != tt.wantKind || got.Reason != tt.wantReason || got.Message != tt.wantMessage {
				t.Errorf("got kind %d reason %s message %q; want kind %d reason %s message %q",
					got.Kind, got.Reason, got.Message, tt.wantKind, tt.wantReason, tt.wantMessage)
			}
			if got.UpstreamStatus != tt.wantStatus || got.UpstreamCode != tt.wantCode || got.RequestID != tt.wantRequestID || got.RetryAfter != tt.wantRetryAfter {
				t.Errorf("got status %d code %q request id %q retry after %v; want %d %q %q %v",
					got.UpstreamStatus, got.UpstreamCode, got.RequestID, got.RetryAfter,
					tt.wantStatus, tt.wantCode, tt.wantRequestID, tt.wantRetryAfter)
			}
			if got.Cause == nil {
				t.Error("Cause is nil, want the MSAL error for the logs")
			}
			var call msalerrors.CallErr
			if errors.As(got, &call) {
				t.Error("the result still holds MSAL's CallErr and with it the request body")
			}
			for _, text := range []string{got.Error(), fmt.Sprintf("%+v", got), fmt.Sprintf("%#v", got.Cause)} {
				if strings.Contains(text, testSecret) || strings.Contains(text, "eyJ-leaked") {
					t.Errorf("error text holds the secret or a token: %s", text)
				}
			}
		})
	}
}

func TestAuthorityURL(t *testing.T) {
	tests := []struct {
		host, tenant      string
		wantAuthority     string
		wantDiscovery     bool
		wantErrContaining string
	}{
		{host: "https://login.microsoftonline.com", tenant: "contoso.onmicrosoft.com", wantAuthority: "https://login.microsoftonline.com/contoso.onmicrosoft.com", wantDiscovery: true},
		{host: "https://LOGIN.microsoftonline.us/", tenant: "e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f42", wantAuthority: "https://LOGIN.microsoftonline.us/e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f42", wantDiscovery: true},
		{host: "https://login.chinacloudapi.cn", tenant: "t", wantAuthority: "https://login.chinacloudapi.cn/t", wantDiscovery: true},
		{host: "https://login.partner.microsoftonline.cn", tenant: "t", wantAuthority: "https://login.partner.microsoftonline.cn/t", wantDiscovery: true},
		{host: "https://127.0.0.1:8443", tenant: "t", wantAuthority: "https://127.0.0.1:8443/t", wantDiscovery: false},
		{host: "https://login.microsoftonline.com.evil.example", tenant: "t", wantAuthority: "https://login.microsoftonline.com.evil.example/t", wantDiscovery: false},
		{host: "http://login.microsoftonline.com", tenant: "t", wantErrContaining: "https"},
		{host: "login.microsoftonline.com", tenant: "t", wantErrContaining: "https"},
		{host: "https://login.microsoftonline.com/tenant", tenant: "t", wantErrContaining: "path"},
		{host: "https://login.microsoftonline.com", tenant: "", wantErrContaining: "required"},
		{host: "https://login.microsoftonline.com", tenant: "Common", wantErrContaining: "multi-tenant"},
		{host: "https://login.microsoftonline.com", tenant: "a/../b", wantErrContaining: "GUID or a domain"},
	}
	for _, tt := range tests {
		t.Run(tt.host+" "+tt.tenant, func(t *testing.T) {
			authority, discovery, err := authorityURL(tt.host, tt.tenant)
			if tt.wantErrContaining != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContaining) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErrContaining)
				}
				return
			}
			if err != nil || authority != tt.wantAuthority || discovery != tt.wantDiscovery {
				t.Errorf("= %q, %v, %v; want %q, %v", authority, discovery, err, tt.wantAuthority, tt.wantDiscovery)
			}
		})
	}
}

func TestNewAppRejectsBadOptions(t *testing.T) {
	const certLike = "-----BEGIN CERTIFICATE-----\nTUlJQ0FBQkFBRUNFUlRJRklDQVRFQ09OVEVOVA==\n-----END CERTIFICATE-----\n"
	const keyOnly = "-----BEGIN PRIVATE KEY-----\nUFJJVkFURUtFWUNPTlRFTlQ=\n-----END PRIVATE KEY-----\n"
	valid := AppOptions{AuthorityHost: "https://login.microsoftonline.com", TenantID: "contoso.com", ClientID: "c", ClientSecret: "x", Scope: "https://graph.microsoft.com/.default"}
	tests := []struct {
		name     string
		mutate   func(*AppOptions)
		wantErr  string
		mustHide string
	}{
		{"no credential", func(o *AppOptions) { o.ClientSecret = "" }, "a client secret or a client certificate is required", ""},
		{"both credentials", func(o *AppOptions) { o.CertificatePEM = []byte(certLike) }, "not both", ""},
		{"garbage certificate", func(o *AppOptions) { o.ClientSecret, o.CertificatePEM = "", []byte("not a pem at all") }, "client certificate", "not a pem"},
		{"bad certificate block", func(o *AppOptions) { o.ClientSecret, o.CertificatePEM = "", []byte(certLike) }, "client certificate", "TUlJQ0FBQkFBRUNFUlRJRklDQVRFQ09OVEVOVA"},
		{"key without certificate", func(o *AppOptions) { o.ClientSecret, o.CertificatePEM = "", []byte(keyOnly) }, "client certificate", "UFJJVkFURUtFWUNPTlRFTlQ"},
		{"no client id", func(o *AppOptions) { o.ClientID = "" }, "client ID is required", ""},
		{"no scope", func(o *AppOptions) { o.Scope = "" }, "scope is required", ""},
		{"http authority", func(o *AppOptions) { o.AuthorityHost = "http://login.microsoftonline.com" }, "https", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid
			tt.mutate(&opts)
			_, err := NewApp(opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.mustHide != "" && strings.Contains(err.Error(), tt.mustHide) {
				t.Errorf("err = %v, repeats the certificate's content", err)
			}
		})
	}
	if _, err := NewApp(valid); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

func TestAppStringHidesCredential(t *testing.T) {
	app, err := NewApp(AppOptions{AuthorityHost: "https://login.microsoftonline.com", TenantID: "contoso.com", ClientID: "client-1", ClientSecret: testSecret, Scope: "s"})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{fmt.Sprint(app), fmt.Sprintf("%+v", app), fmt.Sprintf("%#v", app), fmt.Sprintf("%+v", *app)} {
		if strings.Contains(text, testSecret) {
			t.Errorf("formatted App holds the secret: %s", text)
		}
	}
	if got := app.String(); !strings.Contains(got, "client-1") || !strings.Contains(got, KindClientSecret) {
		t.Errorf("String() = %q, want the client id and credential kind", got)
	}
}
