package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/audit"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/callerauth"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/entratoken"
	"github.com/defender-gateway/gateway/internal/policy"
	"github.com/defender-gateway/gateway/internal/server"
)

// The internal metadata key that carries a REST caller's certificate
// identity on the in-memory connection (server.inprocCertIdentityKey).
const internalIdentityKey = "x-defender-gateway-inproc-mtls-identity-bin"

func canonicalTenant(tenant string) (string, bool) {
	switch strings.ToLower(tenant) {
	case "default", "contoso.onmicrosoft.com":
		return "contoso.onmicrosoft.com", true
	case "fabrikam.onmicrosoft.com":
		return "fabrikam.onmicrosoft.com", true
	}
	return "", false
}

const testPolicy = `
callers:
  - identity: mtls:spiffe://corp/soc
    tenants: ["*"]
    operations: [incidents.read]
  - identity: mtls:CN=low
    tenants: ["*"]
    operations: [incidents.read]
  - identity: api-key:soc-bot
    tenants: [default]
    operations: [incidents.read, hunting.run]
  - identity: api-key:reader
    tenants: [default]
    operations: [incidents.read]
  - identity: app:app-123
    tenants: [default]
    operations: [incidents.read]
  - identity: user:` + testUserTenant + `/` + testUserOID + `
    tenants: [default]
    operations: [incidents.read]
    require_user_context: true
`

func testPolicyStore(t *testing.T) *policy.Store {
	t.Helper()
	p, err := policy.Parse([]byte(testPolicy), canonicalTenant)
	if err != nil {
		t.Fatal(err)
	}
	return policy.StaticStore(p)
}

// whoInc answers GetIncident with the caller's identity in display_name
// and, when it presented a user token, the token's UPN in description.
func whoInc() *fakeIncidents {
	return &fakeIncidents{get: func(ctx context.Context, r *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
		req := caller.FromContext(ctx)
		if req == nil {
			return nil, status.Error(codes.Internal, "test: no caller")
		}
		inc := &defenderv1.Incident{Name: r.GetName(), DisplayName: req.Identity.Name}
		if req.UserToken != nil {
			inc.Description = req.UserToken.UPN
		}
		return inc, nil
	}}
}

// Alice's tenant and object id in the stub tokens.
const (
	testUserTenant = "0f1e2d3c-4b5a-4697-8877-665544332211"
	testUserOID    = "00000000-0000-0000-0000-0000000000a1"
)

// stubTokens is a TokenValidator: "user-token" is Alice's, "app-token" an
// app's, each with the default scope or role; anything else fails the
// signature check.
type stubTokens struct{}

func (stubTokens) Validate(_ context.Context, raw string) (*entratoken.Claims, error) {
	switch raw {
	case "user-token":
		return &entratoken.Claims{Tenant: testUserTenant, ObjectID: testUserOID, UPN: "alice@contoso.onmicrosoft.com", IsUser: true,
			Scopes: []string{config.DefaultCallerScope}, Expiry: time.Now().Add(time.Hour)}, nil
	case "app-token":
		return &entratoken.Claims{Tenant: testUserTenant, AppID: "app-123", Roles: []string{config.DefaultCallerAppRole}}, nil
	}
	return nil, &entratoken.Error{Check: "signature", Detail: "bad"}
}

const (
	botKey    = "k3y-of-the-soc-bot"
	readerKey = "k3y-of-the-reader"
)

func apiKeyAuth(t *testing.T) *callerauth.Authenticator {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.yaml")
	content := "keys:\n  - name: soc-bot\n    sha256: " + callerauth.HashAPIKey(botKey) + "\n  - name: reader\n    sha256: " + callerauth.HashAPIKey(readerKey) + "\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := callerauth.New(callerauth.Options{Mode: config.CallerAuthAPIKey, APIKeysFile: path, Tokens: stubTokens{}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// dial connects a gRPC client; tlsCfg nil dials plaintext.
func dial(t *testing.T, addr string, tlsCfg *tls.Config) *grpc.ClientConn {
	t.Helper()
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// restGet performs a REST GET and returns the status code, the gRPC
// status of an error body (nil on 200) and the body.
func restGet(t *testing.T, hc *http.Client, url string, header map[string]string) (int, *status.Status, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, nil, body, nil
	}
	return resp.StatusCode, restStatus(t, resp, body), body, nil
}

func httpClient(t *testing.T, tlsCfg *tls.Config) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: tlsCfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// outcome is what a call should produce: the caller identity the handler
// saw and the user token's UPN, or a code and ErrorInfo reason.
type outcome struct {
	identity, userUPN string
	code              codes.Code
	reason            string
}

// checkGRPC calls GetIncident over gRPC with metadata md.
func checkGRPC(t *testing.T, conn *grpc.ClientConn, md metadata.MD, want outcome) {
	t.Helper()
	ctx := metadata.NewOutgoingContext(context.Background(), md)
	inc, err := defenderv1.NewIncidentServiceClient(conn).GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/1"})
	st := status.Convert(err)
	if st.Code() != want.code {
		t.Fatalf("gRPC code = %v (%s), want %v", st.Code(), st.Message(), want.code)
	}
	if want.code != codes.OK {
		if want.reason != "" && errorInfo(st).GetReason() != want.reason {
			t.Errorf("gRPC reason = %q, want %q", errorInfo(st).GetReason(), want.reason)
		}
		return
	}
	if inc.GetDisplayName() != want.identity || inc.GetDescription() != want.userUPN {
		t.Errorf("handler saw caller %q user %q, want %q %q", inc.GetDisplayName(), inc.GetDescription(), want.identity, want.userUPN)
	}
}

// checkREST calls GetIncident over REST with headers.
func checkREST(t *testing.T, hc *http.Client, base string, header map[string]string, want outcome) {
	t.Helper()
	code, st, body, err := restGet(t, hc, base+"/v1/tenants/default/incidents/1", header)
	if err != nil {
		t.Fatalf("REST: %v", err)
	}
	if want.code != codes.OK {
		if st == nil || st.Code() != want.code {
			t.Fatalf("REST HTTP %d %s, want code %v", code, body, want.code)
		}
		if want.reason != "" && errorInfo(st).GetReason() != want.reason {
			t.Errorf("REST reason = %q, want %q", errorInfo(st).GetReason(), want.reason)
		}
		return
	}
	if code != http.StatusOK {
		t.Fatalf("REST HTTP %d %s, want 200", code, body)
	}
	for _, w := range []string{`"displayName":"` + want.identity + `"`} {
		if !bytes.Contains(body, []byte(w)) {
			t.Errorf("REST body %s does not contain %s", body, w)
		}
	}
	if want.userUPN != "" && !bytes.Contains(body, []byte(want.userUPN)) {
		t.Errorf("REST body %s does not name the user %s", body, want.userUPN)
	}
}

func startMTLS(t *testing.T, p *pki, inc *fakeIncidents, tweak func(*server.Options)) *testServer {
	t.Helper()
	tlsCfg, err := server.NewTLSConfig(p.certFile, p.keyFile, p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := callerauth.New(callerauth.Options{Mode: config.CallerAuthMTLS})
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, inc, func(o *server.Options) {
		o.TLS, o.CallerAuth, o.Policy = tlsCfg, authn, testPolicyStore(t)
		if tweak != nil {
			tweak(o)
		}
	})
}

func TestMTLS(t *testing.T) {
	p := newPKI(t)
	inc := whoInc()
	ts := startMTLS(t, p, inc, nil)
	base := "https://" + ts.srv.HTTPAddr()

	tests := []struct {
		name  string
		certs []tls.Certificate
		want  outcome
	}{
		{"no certificate", nil, outcome{code: codes.Unauthenticated, reason: defender.ReasonClientCertificateRequired}},
		{"URI SAN", []tls.Certificate{p.client}, outcome{identity: "mtls:spiffe://corp/soc"}},
		{"subject", []tls.Certificate{p.lowClient}, outcome{identity: "mtls:CN=low"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: p.roots, Certificates: tt.certs, MinVersion: tls.VersionTLS12}
			t.Run("gRPC", func(t *testing.T) { checkGRPC(t, dial(t, ts.srv.GRPCAddr(), cfg), nil, tt.want) })
			t.Run("REST", func(t *testing.T) { checkREST(t, httpClient(t, cfg), base, nil, tt.want) })
		})
	}

	t.Run("foreign CA fails the handshake", func(t *testing.T) {
		before := inc.calls.Load()
		// Sent even though the server names other acceptable CAs (a
		// client would otherwise send no certificate at all).
		cfg := &tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS12,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &p.foreign, nil }}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := defenderv1.NewIncidentServiceClient(dial(t, ts.srv.GRPCAddr(), cfg)).GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/1"})
		if status.Code(err) != codes.Unavailable {
			t.Errorf("gRPC with a foreign certificate = %v, want UNAVAILABLE (handshake failure)", err)
		}
		if _, _, _, err := restGet(t, httpClient(t, cfg), base+"/v1/tenants/default/incidents/1", nil); err == nil {
			t.Error("REST with a foreign certificate succeeded, want a handshake failure")
		}
		if inc.calls.Load() != before {
			t.Error("a call with a foreign certificate reached the handler")
		}
	})

	t.Run("plaintext is refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := defenderv1.NewIncidentServiceClient(dial(t, ts.srv.GRPCAddr(), nil)).GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/1"})
		if status.Code(err) != codes.Unavailable {
			t.Errorf("plaintext gRPC = %v, want UNAVAILABLE", err)
		}
	})

	t.Run("health without a certificate", func(t *testing.T) {
		cfg := &tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS12}
		resp, err := healthpb.NewHealthClient(dial(t, ts.srv.GRPCAddr(), cfg)).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("gRPC health = %v, %v", resp, err)
		}
		for _, path := range []string{"/healthz", "/metrics"} {
			code, _, _, err := restGet(t, httpClient(t, cfg), base+path, nil)
			if err != nil || code != http.StatusOK {
				t.Errorf("GET %s = %d, %v; want 200", path, code, err)
			}
		}
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		cfg := &tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
		if _, _, _, err := restGet(t, httpClient(t, cfg), base+"/healthz", nil); err == nil {
			t.Error("a TLS 1.1 handshake succeeded")
		}
	})
}

// TestForgedInternalIdentity: the metadata that carries a REST caller's
// verified certificate identity is ignored from anyone but the REST
// gateway of the process.
func TestForgedInternalIdentity(t *testing.T) {
	p := newPKI(t)
	ts := startMTLS(t, p, whoInc(), nil)
	base := "https://" + ts.srv.HTTPAddr()
	noCert := &tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS12}
	lowCert := &tls.Config{RootCAs: p.roots, Certificates: []tls.Certificate{p.lowClient}, MinVersion: tls.VersionTLS12}
	forged := metadata.Pairs(internalIdentityKey, "mtls:spiffe://corp/soc")

	t.Run("gRPC without a certificate", func(t *testing.T) {
		checkGRPC(t, dial(t, ts.srv.GRPCAddr(), noCert), forged,
			outcome{code: codes.Unauthenticated, reason: defender.ReasonClientCertificateRequired})
	})
	t.Run("gRPC with another certificate", func(t *testing.T) {
		checkGRPC(t, dial(t, ts.srv.GRPCAddr(), lowCert), forged, outcome{identity: "mtls:CN=low"})
	})
	header := map[string]string{"Grpc-Metadata-" + internalIdentityKey: "bXRsczpzcGlmZmU6Ly9jb3JwL3NvYw"}
	t.Run("REST without a certificate", func(t *testing.T) {
		checkREST(t, httpClient(t, noCert), base, header,
			outcome{code: codes.Unauthenticated, reason: defender.ReasonClientCertificateRequired})
	})
	t.Run("REST with another certificate", func(t *testing.T) {
		checkREST(t, httpClient(t, lowCert), base, header, outcome{identity: "mtls:CN=low"})
	})
}

func TestAPIKey(t *testing.T) {
	ts := startServer(t, whoInc(), func(o *server.Options) {
		o.CallerAuth, o.Policy = apiKeyAuth(t), testPolicyStore(t)
	})
	tests := []struct {
		name string
		key  string
		want outcome
	}{
		{"missing", "", outcome{code: codes.Unauthenticated, reason: defender.ReasonCallerCredentialsMissing}},
		{"wrong", "not-a-key", outcome{code: codes.Unauthenticated, reason: defender.ReasonAPIKeyInvalid}},
		{"good", botKey, outcome{identity: "api-key:soc-bot"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, header := metadata.MD{}, map[string]string{}
			if tt.key != "" {
				md.Set("x-api-key", tt.key)
				header["X-Api-Key"] = tt.key
			}
			t.Run("gRPC", func(t *testing.T) { checkGRPC(t, ts.conn, md, tt.want) })
			t.Run("REST", func(t *testing.T) { checkREST(t, ts.hc, ts.base, header, tt.want) })
		})
	}
	t.Run("user token and account are forwarded", func(t *testing.T) {
		want := outcome{identity: "api-key:soc-bot", userUPN: "alice@contoso.onmicrosoft.com"}
		checkGRPC(t, ts.conn, metadata.Pairs("x-api-key", botKey, "authorization", "Bearer user-token"), want)
		checkREST(t, ts.hc, ts.base, map[string]string{"X-Api-Key": botKey, "Authorization": "Bearer user-token"}, want)
		// The soc-bot entry allows no signed-in account.
		denied := outcome{code: codes.PermissionDenied, reason: defender.ReasonAccountNotAllowed}
		checkGRPC(t, ts.conn, metadata.Pairs("x-api-key", botKey, "x-defender-account", "bob@contoso.onmicrosoft.com"), denied)
		checkREST(t, ts.hc, ts.base, map[string]string{"X-Api-Key": botKey, "X-Defender-Account": "bob@contoso.onmicrosoft.com"}, denied)
	})
}

func TestJWT(t *testing.T) {
	authn, err := callerauth.New(callerauth.Options{Mode: config.CallerAuthJWT, Tokens: stubTokens{}})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, whoInc(), func(o *server.Options) { o.CallerAuth, o.Policy = authn, testPolicyStore(t) })
	tests := []struct {
		name, bearer string
		want         outcome
	}{
		{"missing", "", outcome{code: codes.Unauthenticated, reason: defender.ReasonCallerCredentialsMissing}},
		{"invalid", "forged", outcome{code: codes.Unauthenticated, reason: defender.ReasonTokenInvalid}},
		{"app", "app-token", outcome{identity: "app:app-123"}},
		{"user by tenant and object id", "user-token", outcome{identity: "user:" + testUserTenant + "/" + testUserOID, userUPN: "alice@contoso.onmicrosoft.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, header := metadata.MD{}, map[string]string{}
			if tt.bearer != "" {
				md.Set("authorization", "Bearer "+tt.bearer)
				header["Authorization"] = "Bearer " + tt.bearer
			}
			t.Run("gRPC", func(t *testing.T) { checkGRPC(t, ts.conn, md, tt.want) })
			t.Run("REST", func(t *testing.T) { checkREST(t, ts.hc, ts.base, header, tt.want) })
		})
	}
}

func TestPolicyDenials(t *testing.T) {
	inc := whoInc()
	ts := startServer(t, inc, func(o *server.Options) { o.CallerAuth, o.Policy = apiKeyAuth(t), testPolicyStore(t) })
	client := defenderv1.NewIncidentServiceClient(ts.conn)
	tests := []struct {
		name   string
		key    string
		call   func(context.Context) error
		reason string
	}{
		{"operation", readerKey, func(ctx context.Context) error {
			_, err := client.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: "tenants/default/incidents/1"}})
			return err
		}, defender.ReasonOperationNotAllowed},
		{"tenant", botKey, func(ctx context.Context) error {
			_, err := client.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/fabrikam.onmicrosoft.com/incidents/1"})
			return err
		}, defender.ReasonCallerTenantNotAllowed},
		{"hunting", readerKey, func(ctx context.Context) error {
			_, err := defenderv1.NewHuntingServiceClient(ts.conn).RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "DeviceEvents"})
			return err
		}, defender.ReasonOperationNotAllowed},
		{"whoami in another tenant", readerKey, func(ctx context.Context) error {
			_, err := defenderv1.NewAuthServiceClient(ts.conn).WhoAmI(ctx, &defenderv1.WhoAmIRequest{Tenant: "tenants/fabrikam.onmicrosoft.com"})
			return err
		}, defender.ReasonCallerTenantNotAllowed},
		{"invalid request is denied before validation", readerKey, func(ctx context.Context) error {
			_, err := client.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{})
			return err
		}, defender.ReasonCallerTenantNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := inc.calls.Load()
			err := tt.call(metadata.AppendToOutgoingContext(context.Background(), "x-api-key", tt.key))
			st := status.Convert(err)
			if st.Code() != codes.PermissionDenied || errorInfo(st).GetReason() != tt.reason {
				t.Errorf("= %v %q, want PERMISSION_DENIED %s", st.Code(), errorInfo(st).GetReason(), tt.reason)
			}
			if inc.calls.Load() != before {
				t.Error("a denied call reached the handler")
			}
		})
	}
	t.Run("REST 403", func(t *testing.T) {
		code, st, _, err := restGet(t, ts.hc, ts.base+"/v1/tenants/fabrikam.onmicrosoft.com/incidents/1", map[string]string{"X-Api-Key": botKey})
		if err != nil || code != http.StatusForbidden || errorInfo(st).GetReason() != defender.ReasonCallerTenantNotAllowed {
			t.Errorf("REST = %d %v %v, want 403 CALLER_TENANT_NOT_ALLOWED", code, st, err)
		}
	})
}

func TestPolicyReloadKeepsInFlightCalls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(ops string) {
		if err := os.WriteFile(path, []byte("callers:\n  - identity: api-key:reader\n    tenants: [default]\n    operations: ["+ops+"]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("incidents.read")
	store, err := policy.NewStore(path, canonicalTenant)
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	inc := &fakeIncidents{get: func(ctx context.Context, r *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
		close(entered)
		<-release
		return &defenderv1.Incident{Name: r.GetName(), DisplayName: strings.Join(caller.FromContext(ctx).AllowedOperations("default"), ",")}, nil
	}}
	ts := startServer(t, inc, func(o *server.Options) { o.CallerAuth, o.Policy = apiKeyAuth(t), store })
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", readerKey)
	get := func() (*defenderv1.Incident, error) {
		return ts.incidents().GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/1"})
	}

	type result struct {
		inc *defenderv1.Incident
		err error
	}
	first := make(chan result, 1)
	go func() {
		i, err := get()
		first <- result{i, err}
	}()
	<-entered
	write("hunting.run")
	if err := store.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := get(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("call after reload = %v, want PERMISSION_DENIED", err)
	}
	close(release)
	r := <-first
	if r.err != nil {
		t.Fatalf("in-flight call = %v, want it to finish under the old policy", r.err)
	}
	if r.inc.GetDisplayName() != "incidents.read" {
		t.Errorf("in-flight AllowedOperations = %q, want the old policy's incidents.read", r.inc.GetDisplayName())
	}
}

func TestAuditRecords(t *testing.T) {
	var auditBuf syncBuffer
	auditLog := audit.New(slog.New(slog.NewJSONHandler(&auditBuf, nil)), audit.Options{})
	ts := startServer(t, whoInc(), func(o *server.Options) {
		o.CallerAuth, o.Policy, o.Audit = apiKeyAuth(t), testPolicyStore(t), auditLog
	})
	const query = "DeviceEvents | where x == 'kql-secret-text'"
	call := func(md metadata.MD, f func(context.Context) error) {
		_ = f(metadata.NewOutgoingContext(context.Background(), md))
	}
	get := func(ctx context.Context) error {
		_, err := ts.incidents().GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/42"})
		return err
	}
	call(metadata.Pairs("x-api-key", botKey, "x-request-id", "audit-ok"), get)
	call(metadata.Pairs("x-api-key", "wrong-secret-key", "x-request-id", "audit-unauth"), get)
	call(metadata.Pairs("x-api-key", readerKey, "x-request-id", "audit-denied", "authorization", "Bearer user-token"), func(ctx context.Context) error {
		_, err := defenderv1.NewHuntingServiceClient(ts.conn).RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: query})
		return err
	})
	call(metadata.Pairs("x-api-key", botKey, "x-request-id", "audit-rest-hunt"), func(ctx context.Context) error {
		_, _, _, err := restGet(t, ts.hc, ts.base+"/v1/tenants/default/incidents/7", map[string]string{"X-Api-Key": botKey, "X-Request-Id": "audit-rest"})
		return err
	})
	if _, err := healthpb.NewHealthClient(ts.conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}

	recs := logRecords(t, auditBuf.String())
	want := []map[string]any{
		{"request_id": "audit-ok", "caller": "api-key:soc-bot", "operation": "incidents.read", "resource": "tenants/default/incidents/42", "tenant": "default", "code": "OK"},
		{"request_id": "audit-unauth", "caller": "", "operation": "incidents.read", "code": "Unauthenticated", "reason": defender.ReasonAPIKeyInvalid},
		{"request_id": "audit-denied", "caller": "api-key:reader", "operation": "hunting.run", "code": "PermissionDenied", "reason": defender.ReasonOperationNotAllowed, "tenant": "default"},
		{"request_id": "audit-rest", "caller": "api-key:soc-bot", "resource": "tenants/default/incidents/7", "code": "OK"},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d audit records, want %d (health is not audited):\n%s", len(recs), len(want), auditBuf.String())
	}
	for i, w := range want {
		for k, v := range w {
			if recs[i][k] != v {
				t.Errorf("record %d: %s = %v, want %v", i, k, recs[i][k], v)
			}
		}
	}
	if h, _ := recs[2]["query_sha256"].(string); len(h) != 64 {
		t.Errorf("hunting record query_sha256 = %v", recs[2]["query_sha256"])
	}
	for _, secret := range []string{botKey, readerKey, "wrong-secret-key", "user-token", "kql-secret-text"} {
		if strings.Contains(auditBuf.String(), secret) {
			t.Errorf("the audit log holds %q", secret)
		}
		if strings.Contains(ts.logs.String(), secret) {
			t.Errorf("the main log holds %q", secret)
		}
	}
}

func TestNewRefusesUnsafeOptions(t *testing.T) {
	p := newPKI(t)
	mtls, err := callerauth.New(callerauth.Options{Mode: config.CallerAuthMTLS})
	if err != nil {
		t.Fatal(err)
	}
	noCA, err := server.NewTLSConfig(p.certFile, p.keyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		tweak func(*server.Options)
		want  string
	}{
		{"api-key without policy", func(o *server.Options) { o.CallerAuth = apiKeyAuth(t) }, "needs an authorization policy"},
		{"mtls without TLS", func(o *server.Options) { o.CallerAuth, o.Policy = mtls, testPolicyStore(t) }, "needs TLS with client CAs"},
		{"mtls without client CAs", func(o *server.Options) { o.CallerAuth, o.Policy, o.TLS = mtls, testPolicyStore(t), noCA }, "needs TLS with client CAs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := server.Options{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
				Services: server.Services{Incidents: &fakeIncidents{}, Hunting: &fakeHunting{}, Auth: &fakeAuth{}, Quota: &fakeQuota{}, Alerts: &fakeAlerts{}}}
			tt.tweak(&opts)
			srv, err := server.New(opts)
			if err == nil {
				t.Fatalf("New succeeded (%v), want an error", srv.GRPCAddr())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewTLSConfigErrors(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	secretKey := filepath.Join(dir, "bad-key.pem")
	if err := os.WriteFile(secretKey, []byte("-----BEGIN EC PRIVATE KEY-----\nU0VDUkVUS0VZTUFURVJJQUw=\n-----END EC PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("SECRETCAMATERIAL"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name          string
		cert, key, ca string
		wantName      string
	}{
		{"missing certificate", missing, p.keyFile, "", "missing.pem"},
		{"missing key", p.certFile, missing, "", "missing.pem"},
		{"bad key", p.certFile, secretKey, "", "bad-key.pem"},
		{"missing CA", p.certFile, p.keyFile, missing, "missing.pem"},
		{"CA without certificates", p.certFile, p.keyFile, notPEM, "ca.txt"},
		{"no key file", p.certFile, "", "", "key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := server.NewTLSConfig(tt.cert, tt.key, tt.ca)
			if err == nil {
				t.Fatal("NewTLSConfig succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantName) {
				t.Errorf("error %q does not name %s", err, tt.wantName)
			}
			for _, secret := range []string{"U0VDUkVUS0VZTUFURVJJQUw", "SECRETCAMATERIAL"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds file content", err)
				}
			}
		})
	}
	cfg, err := server.NewTLSConfig(p.certFile, p.keyFile, p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.VerifyClientCertIfGiven || cfg.ClientCAs == nil {
		t.Errorf("config = min %x auth %v CAs %v", cfg.MinVersion, cfg.ClientAuth, cfg.ClientCAs != nil)
	}
}
