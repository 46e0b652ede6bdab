package callerauth_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/defender-gateway/gateway/internal/callerauth"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/entratoken"
)

// stubTokens accepts "user-token" (a user), "app-token" (an app), the
// same without the required scope or role ("user-no-scope",
// "app-no-role"), "user-no-oid" and "keys-down" (signing keys
// unavailable); anything else fails the signature check.
type stubTokens struct{}

func (stubTokens) Validate(_ context.Context, raw string) (*entratoken.Claims, error) {
	user := func(scopes ...string) *entratoken.Claims {
		return &entratoken.Claims{Tenant: "TID-1", ConfiguredTenant: "contoso.onmicrosoft.com", ObjectID: "OID-1", UPN: "Alice@contoso.onmicrosoft.com",
			AppID: "client-app", Scopes: scopes, Expiry: time.Unix(2000000000, 0), IsUser: true}
	}
	switch raw {
	case "user-token":
		return user("Defender.Read", config.DefaultCallerScope), nil
	case "user-no-scope":
		return user("Defender.Read", "access_as_user2", "Access_as_user"), nil
	case "user-no-oid":
		c := user(config.DefaultCallerScope)
		c.ObjectID = ""
		return c, nil
	case "app-token":
		return &entratoken.Claims{Tenant: "tid-1", AppID: "App-123", Roles: []string{"Other.Role", config.DefaultCallerAppRole}}, nil
	case "app-no-role":
		return &entratoken.Claims{Tenant: "tid-1", AppID: "app-123", Roles: []string{"gateway.call"}}, nil
	case "keys-down":
		return nil, fmt.Errorf("fetch keys: %w", entratoken.ErrKeysUnavailable)
	}
	return nil, &entratoken.Error{Check: "signature", Detail: "bad signature"}
}

const (
	botKey    = "bot-secret-key-1"
	otherKey  = "other-secret-key-2"
	keysYAML  = "keys:\n  - name: soc-bot\n    sha256: %s\n  - name: other\n    sha256: %s\n"
	upnHeader = "alice@contoso.onmicrosoft.com"
)

func writeKeys(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newAuth(t *testing.T, mode config.CallerAuthMode) *callerauth.Authenticator {
	t.Helper()
	opts := callerauth.Options{Mode: mode, Tokens: stubTokens{}}
	if mode == config.CallerAuthAPIKey {
		opts.APIKeysFile = writeKeys(t, t.TempDir(), fmt.Sprintf(keysYAML, callerauth.HashAPIKey(botKey), callerauth.HashAPIKey(otherKey)))
	}
	a, err := callerauth.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func TestAuthenticate(t *testing.T) {
	type want struct {
		identity string
		display  string
		userUPN  string // "" no user token
		account  string
		kind     defender.ErrorKind
		reason   string // "" success
		check    string
	}
	tests := []struct {
		name     string
		mode     config.CallerAuthMode
		md       metadata.MD
		certName string
		want     want
	}{
		{"none", config.CallerAuthNone, nil, "", want{identity: "anonymous"}},
		{"none with account", config.CallerAuthNone, metadata.Pairs("x-defender-account", "  "+upnHeader+" "), "", want{identity: "anonymous", account: upnHeader}},
		{"none with bad account", config.CallerAuthNone, metadata.Pairs("x-defender-account", "alice"), "", want{kind: defender.KindInvalidArgument, reason: defender.ReasonInvalidArgument}},
		{"none with long account", config.CallerAuthNone, metadata.Pairs("x-defender-account", strings.Repeat("a", 300)+"@contoso.com"), "", want{kind: defender.KindInvalidArgument, reason: defender.ReasonInvalidArgument}},
		{"none with user token", config.CallerAuthNone, metadata.Pairs("authorization", "Bearer user-token"), "", want{identity: "anonymous", userUPN: "Alice@contoso.onmicrosoft.com"}},
		{"none with app token", config.CallerAuthNone, metadata.Pairs("authorization", "Bearer app-token"), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonTokenInvalid, check: "user"}},
		{"none with bad token", config.CallerAuthNone, metadata.Pairs("authorization", "Bearer forged"), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonTokenInvalid, check: "signature"}},
		{"none with basic auth", config.CallerAuthNone, metadata.Pairs("authorization", "Basic dXNlcjpwYXNz"), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonTokenInvalid, check: "malformed"}},
		{"keys unavailable", config.CallerAuthNone, metadata.Pairs("authorization", "Bearer keys-down"), "", want{kind: defender.KindUnavailable, reason: defender.ReasonUnavailable}},

		{"mtls without certificate", config.CallerAuthMTLS, nil, "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonClientCertificateRequired}},
		{"mtls", config.CallerAuthMTLS, nil, "mtls:spiffe://corp/soc", want{identity: "mtls:spiffe://corp/soc"}},
		{"mtls with user token", config.CallerAuthMTLS, metadata.Pairs("authorization", "bearer user-token"), "mtls:CN=soc", want{identity: "mtls:CN=soc", userUPN: "Alice@contoso.onmicrosoft.com"}},

		{"api-key missing", config.CallerAuthAPIKey, nil, "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonCallerCredentialsMissing}},
		{"api-key wrong", config.CallerAuthAPIKey, metadata.Pairs("x-api-key", "guess"), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonAPIKeyInvalid}},
		{"api-key two keys", config.CallerAuthAPIKey, metadata.Pairs("x-api-key", botKey, "x-api-key", otherKey), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonAPIKeyInvalid}},
		{"api-key good", config.CallerAuthAPIKey, metadata.Pairs("x-api-key", botKey), "", want{identity: "api-key:soc-bot"}},
		{"api-key second entry", config.CallerAuthAPIKey, metadata.Pairs("x-api-key", otherKey), "", want{identity: "api-key:other"}},
		{"api-key ignores certificate", config.CallerAuthAPIKey, nil, "mtls:CN=soc", want{kind: defender.KindUnauthenticated, reason: defender.ReasonCallerCredentialsMissing}},

		{"jwt missing", config.CallerAuthJWT, nil, "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonCallerCredentialsMissing}},
		{"jwt api key is not enough", config.CallerAuthJWT, metadata.Pairs("x-api-key", botKey), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonCallerCredentialsMissing}},
		{"jwt app", config.CallerAuthJWT, metadata.Pairs("authorization", "Bearer app-token"), "", want{identity: "app:app-123"}},
		{"api-key with the caller's own app token", config.CallerAuthAPIKey, metadata.Pairs("x-api-key", botKey, "authorization", "Bearer app-token"), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonTokenInvalid, check: "user"}},
		{"jwt user", config.CallerAuthJWT, metadata.Pairs("authorization", "Bearer user-token"), "", want{identity: "user:tid-1/oid-1", display: "Alice@contoso.onmicrosoft.com", userUPN: "Alice@contoso.onmicrosoft.com"}},
		{"jwt user without the scope", config.CallerAuthJWT, metadata.Pairs("authorization", "Bearer user-no-scope"), "", want{kind: defender.KindPermissionDenied, reason: defender.ReasonCallerScopeMissing}},
		{"jwt user without oid", config.CallerAuthJWT, metadata.Pairs("authorization", "Bearer user-no-oid"), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonTokenInvalid, check: "malformed"}},
		{"jwt app without the role", config.CallerAuthJWT, metadata.Pairs("authorization", "Bearer app-no-role"), "", want{kind: defender.KindPermissionDenied, reason: defender.ReasonCallerRoleMissing}},
		{"on-behalf-of without the scope", config.CallerAuthAPIKey, metadata.Pairs("x-api-key", botKey, "authorization", "Bearer user-no-scope"), "", want{kind: defender.KindPermissionDenied, reason: defender.ReasonCallerScopeMissing}},
		{"on-behalf-of without oid", config.CallerAuthNone, metadata.Pairs("authorization", "Bearer user-no-oid"), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonTokenInvalid, check: "malformed"}},
		{"jwt bad", config.CallerAuthJWT, metadata.Pairs("authorization", "Bearer forged"), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonTokenInvalid, check: "signature"}},
		{"jwt two headers", config.CallerAuthJWT, metadata.Pairs("authorization", "Bearer app-token", "authorization", "Bearer user-token"), "", want{kind: defender.KindUnauthenticated, reason: defender.ReasonTokenInvalid, check: "malformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuth(t, tt.mode)
			r, err := a.Authenticate(context.Background(), callerauth.Credentials{Metadata: tt.md, CertificateIdentity: tt.certName})
			if tt.want.reason != "" {
				de, ok := defender.AsError(err)
				if !ok {
					t.Fatalf("Authenticate = %v, %v; want a *defender.Error", r, err)
				}
				if de.Kind != tt.want.kind || de.Reason != tt.want.reason || de.Metadata["check"] != tt.want.check {
					t.Errorf("error = kind %v reason %s check %q, want %v %s %q", de.Kind, de.Reason, de.Metadata["check"], tt.want.kind, tt.want.reason, tt.want.check)
				}
				switch de.Reason {
				case defender.ReasonCallerRoleMissing:
					if de.Metadata["required_role"] != config.DefaultCallerAppRole || !strings.Contains(de.Message, config.DefaultCallerAppRole) {
						t.Errorf("error %q %v does not name the required role", de.Message, de.Metadata)
					}
				case defender.ReasonCallerScopeMissing:
					if de.Metadata["required_scope"] != config.DefaultCallerScope || !strings.Contains(de.Message, config.DefaultCallerScope) {
						t.Errorf("error %q %v does not name the required scope", de.Message, de.Metadata)
					}
				}
				for _, secret := range []string{botKey, otherKey, "forged", "user-token", "dXNlcjpwYXNz"} {
					if strings.Contains(de.Error(), secret) {
						t.Errorf("error %q holds a credential", de.Error())
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if r.Identity.Name != tt.want.identity || r.Identity.Display != tt.want.display {
				t.Errorf("identity = %q (%q), want %q (%q)", r.Identity.Name, r.Identity.Display, tt.want.identity, tt.want.display)
			}
			if r.Account != tt.want.account {
				t.Errorf("account = %q, want %q", r.Account, tt.want.account)
			}
			gotUPN := ""
			if r.UserToken != nil {
				gotUPN = r.UserToken.UPN
				if r.UserToken.Raw != "user-token" || r.UserToken.ObjectID != "OID-1" || r.UserToken.ServedTenant != "contoso.onmicrosoft.com" || r.UserToken.ClientID != "client-app" {
					t.Errorf("user token = %+v", *r.UserToken)
				}
			}
			if gotUPN != tt.want.userUPN {
				t.Errorf("user token UPN = %q, want %q", gotUPN, tt.want.userUPN)
			}
		})
	}
}

// TestConfiguredRoleAndScope: the required role and scope are the
// configured ones, not the defaults.
func TestConfiguredRoleAndScope(t *testing.T) {
	a, err := callerauth.New(callerauth.Options{Mode: config.CallerAuthJWT, Tokens: stubTokens{}, AppRole: "Other.Role", UserScope: "Defender.Read"})
	if err != nil {
		t.Fatal(err)
	}
	auth := func(token string) error {
		_, err := a.Authenticate(context.Background(), callerauth.Credentials{Metadata: metadata.Pairs("authorization", "Bearer "+token)})
		return err
	}
	if err := auth("app-token"); err != nil {
		t.Errorf("an app token with the configured role: %v", err)
	}
	if err := auth("user-no-scope"); err != nil {
		t.Errorf("a user token with the configured scope: %v", err)
	}
	a, err = callerauth.New(callerauth.Options{Mode: config.CallerAuthJWT, Tokens: stubTokens{}, AppRole: "Missing.Role", UserScope: "missing_scope"})
	if err != nil {
		t.Fatal(err)
	}
	if de, _ := defender.AsError(auth("app-token")); de == nil || de.Reason != defender.ReasonCallerRoleMissing || de.Metadata["required_role"] != "Missing.Role" {
		t.Errorf("an app token without the configured role: %v", de)
	}
	if de, _ := defender.AsError(auth("user-token")); de == nil || de.Reason != defender.ReasonCallerScopeMissing || de.Metadata["required_scope"] != "missing_scope" {
		t.Errorf("a user token without the configured scope: %v", de)
	}
}

func TestUserTokenWithoutValidator(t *testing.T) {
	a, err := callerauth.New(callerauth.Options{Mode: config.CallerAuthNone})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(context.Background(), callerauth.Credentials{Metadata: metadata.Pairs("authorization", "Bearer user-token")})
	if de, _ := defender.AsError(err); de == nil || de.Reason != defender.ReasonNotConfigured {
		t.Errorf("Authenticate = %v, want NOT_CONFIGURED", err)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts callerauth.Options
		want string
	}{
		{"jwt without validator", callerauth.Options{Mode: config.CallerAuthJWT}, "no token validator"},
		{"api-key without file", callerauth.Options{Mode: config.CallerAuthAPIKey}, "no API keys file"},
		{"api-key missing file", callerauth.Options{Mode: config.CallerAuthAPIKey, APIKeysFile: "/nonexistent/keys.yaml"}, "/nonexistent/keys.yaml"},
		{"unknown mode", callerauth.Options{Mode: "kerberos"}, "kerberos"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := callerauth.New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestAPIKeysFileErrors(t *testing.T) {
	good := callerauth.HashAPIKey(botKey)
	tests := []struct {
		name, content string
		want          []string
	}{
		{"empty", "", []string{"is empty"}},
		{"no keys", "keys: []\n", []string{"keys: is empty"}},
		{"unknown field", "keys:\n  - name: a\n    sha256: " + good + "\n    key: plaintext\n", []string{"key"}},
		{"bad hex", "keys:\n  - name: a\n    sha256: zz\n", []string{"keys[0] (a)", "64 hex digits"}},
		{"short hash", "keys:\n  - name: a\n    sha256: abcd\n", []string{"keys[0] (a)", "64 hex digits"}},
		{"bad name", "keys:\n  - name: 'a b'\n    sha256: " + good + "\n", []string{"keys[0]", "name"}},
		{"duplicate name", "keys:\n  - name: a\n    sha256: " + good + "\n  - name: a\n    sha256: " + callerauth.HashAPIKey(otherKey) + "\n", []string{"keys[1] (a)", "duplicate name"}},
		{"duplicate hash", "keys:\n  - name: a\n    sha256: " + good + "\n  - name: b\n    sha256: " + strings.ToUpper(good) + "\n", []string{"keys[1] (b)", "same key hash as a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeKeys(t, t.TempDir(), tt.content)
			_, err := callerauth.New(callerauth.Options{Mode: config.CallerAuthAPIKey, APIKeysFile: path})
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), good) {
				t.Errorf("error %q repeats a hash", err)
			}
		})
	}
}

func TestHashAPIKey(t *testing.T) {
	// SHA-256 of "abc" (FIPS 180-2 test vector).
	if got, want := callerauth.HashAPIKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("HashAPIKey(abc) = %s, want %s", got, want)
	}
}

func TestReloadKeys(t *testing.T) {
	dir := t.TempDir()
	path := writeKeys(t, dir, fmt.Sprintf("keys:\n  - name: soc-bot\n    sha256: %s\n", callerauth.HashAPIKey(botKey)))
	a, err := callerauth.New(callerauth.Options{Mode: config.CallerAuthAPIKey, APIKeysFile: path})
	if err != nil {
		t.Fatal(err)
	}
	authWith := func(key string) error {
		_, err := a.Authenticate(context.Background(), callerauth.Credentials{Metadata: metadata.Pairs("x-api-key", key)})
		return err
	}
	if err := authWith(botKey); err != nil {
		t.Fatalf("before reload: %v", err)
	}
	writeKeys(t, dir, "keys:\n  - name: broken\n    sha256: nothex\n")
	if err := a.Reload(); err == nil {
		t.Fatal("Reload of an invalid file succeeded")
	}
	if err := authWith(botKey); err != nil {
		t.Errorf("after a failed reload the old keys must stay: %v", err)
	}
	writeKeys(t, dir, fmt.Sprintf("keys:\n  - name: other\n    sha256: %s\n", callerauth.HashAPIKey(otherKey)))
	if err := a.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if err := authWith(botKey); err == nil {
		t.Error("the removed key still works after reload")
	}
	if err := authWith(otherKey); err != nil {
		t.Errorf("the new key fails after reload: %v", err)
	}
}

func TestCertificateIdentity(t *testing.T) {
	spiffe, _ := url.Parse("spiffe://corp/soc")
	second, _ := url.Parse("spiffe://corp/other")
	tests := []struct {
		name string
		cert *x509.Certificate
		want string
	}{
		{"first URI SAN", &x509.Certificate{URIs: []*url.URL{spiffe, second}, Subject: pkix.Name{CommonName: "ignored"}}, "mtls:spiffe://corp/soc"},
		{"subject", &x509.Certificate{Subject: pkix.Name{CommonName: "soc-bot", Organization: []string{"Contoso"}}}, "mtls:CN=soc-bot,O=Contoso"},
		{"no subject", &x509.Certificate{Raw: []byte("der")}, "mtls:sha256:" + callerauth.HashAPIKey("der")},
	}
	for _, tt := range tests {
		if got := callerauth.CertificateIdentity(tt.cert); got != tt.want {
			t.Errorf("%s: CertificateIdentity = %q, want %q", tt.name, got, tt.want)
		}
	}
}
