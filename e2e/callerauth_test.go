package e2e

import (
	"bufio"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/callerauth"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/testpki"
)

// API keys of the api-key cases.
const (
	socKey     = "soc-key-6f1e0a9d2b7c4e58a3f1"
	adminKey   = "admin-key-0c8d7e6f5a4b3c2d1e0f"
	analystKey = "analyst-key-3a2b1c0d9e8f7a6b5c4d"
)

func apiKeysFile(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("keys:\n")
	for name, key := range map[string]string{"soc-bot": socKey, "onboarding": adminKey, "analyst-tool": analystKey} {
		b.WriteString("  - name: " + name + "\n    sha256: " + callerauth.HashAPIKey(key) + "\n")
	}
	return writeFile(t, "api-keys.yaml", b.String())
}

const apiKeyPolicy = `
callers:
  - identity: api-key:soc-bot
    tenants: [default]
    operations: [incidents.read, hunting.run]
  - identity: api-key:onboarding
    tenants: ["*"]
    operations: [auth.admin]
  - identity: api-key:analyst-tool
    tenants: [default]
    operations: [incidents.read, incidents.write]
    require_user_context: true
    accounts: [bob@contoso.onmicrosoft.com]
`

// auditRecords reads the audit log file's JSON lines.
func auditRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line is not JSON: %s", sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

func TestAPIKeyCallersAndThePolicy(t *testing.T) {
	emu := startEmulator(t)
	policyFile := writeFile(t, "policy.yaml", apiKeyPolicy)
	auditFile := writeFile(t, "audit.jsonl", "")
	g := startGateway(t, emu, partnerConfig(t, emu, "graph",
		"--partner-tenants", identity.SecondTenantDomain,
		"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t), "--policy-file", policyFile,
		"--audit-log-file", auditFile))
	soc := func() context.Context { return withHeaders(context.Background(), "x-api-key", socKey) }
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			emu.ResetRequests()
			_, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home})
			wantStatus(t, err, codes.Unauthenticated, "CALLER_CREDENTIALS_MISSING")
			_, err = c.ListIncidents(withHeaders(context.Background(), "x-api-key", "soc-key-guess"), &defenderv1.ListIncidentsRequest{Parent: home})
			wantStatus(t, err, codes.Unauthenticated, "API_KEY_INVALID")
			_, err = c.UpdateIncident(soc(), &defenderv1.UpdateIncidentRequest{
				Incident: &defenderv1.Incident{Name: home + "/incidents/1000", AssignedTo: "x@contoso.com"}, UpdateMask: mask("assigned_to")})
			wantStatus(t, err, codes.PermissionDenied, "OPERATION_NOT_ALLOWED", "api-key:soc-bot", "incidents.write")
			_, err = c.ListIncidents(soc(), &defenderv1.ListIncidentsRequest{Parent: "tenants/" + identity.SecondTenantDomain})
			wantStatus(t, err, codes.PermissionDenied, "CALLER_TENANT_NOT_ALLOWED", "api-key:soc-bot")
			_, err = c.ListContexts(soc(), &defenderv1.ListContextsRequest{})
			wantStatus(t, err, codes.PermissionDenied, "OPERATION_NOT_ALLOWED")
			analyst := withHeaders(context.Background(), "x-api-key", analystKey)
			_, err = c.ListIncidents(analyst, &defenderv1.ListIncidentsRequest{Parent: home})
			wantStatus(t, err, codes.PermissionDenied, "USER_CONTEXT_REQUIRED")
			_, err = c.ListIncidents(withHeaders(analyst, "x-defender-account", identity.AliceUPN), &defenderv1.ListIncidentsRequest{Parent: home})
			wantStatus(t, err, codes.PermissionDenied, "ACCOUNT_NOT_ALLOWED", identity.AliceUPN)
			if calls := upstreamCalls(emu); len(calls) != 0 {
				t.Errorf("denied calls reached Entra or the API: %+v", calls)
			}

			// Allowed calls work; the analyst tool works as a user.
			if _, err := c.ListIncidents(soc(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 5}); err != nil {
				t.Errorf("soc-bot ListIncidents: %v", err)
			}
			alice := userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN})
			asAlice := withHeaders(analyst, "authorization", "Bearer "+alice)
			wantAliceView(t, soc(), c, listAllIn(asAlice, t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 100))
			who, err := c.WhoAmI(soc(), &defenderv1.WhoAmIRequest{Tenant: home})
			mustOK(t, err)
			if who.GetCaller() != "api-key:soc-bot" || !slices.Equal(who.GetAllowedOperations(), []string{"hunting.run", "incidents.read"}) {
				t.Errorf("WhoAmI = %v", who)
			}
			// auth.admin passes the policy; the gateway has no redirect URI.
			_, err = c.GetConsentUrl(withHeaders(context.Background(), "x-api-key", adminKey), &defenderv1.GetConsentUrlRequest{Tenant: "tenants/" + identity.SecondTenantDomain})
			wantStatus(t, err, codes.FailedPrecondition, "NOT_CONFIGURED")
		})
	}

	// The audit log has a record per call, and no key or token.
	records := auditRecords(t, auditFile)
	if len(records) < 20 {
		t.Errorf("%d audit records, want one per call (at least 20)", len(records))
	}
	codesSeen := map[string]bool{}
	for _, rec := range records {
		codesSeen[rec["code"].(string)] = true
		if rec["caller"] == nil || rec["operation"] == nil || rec["latency_ms"] == nil || rec["method"] == nil {
			t.Errorf("audit record lacks a field: %v", rec)
		}
	}
	for _, want := range []string{"OK", "Unauthenticated", "PermissionDenied"} {
		if !codesSeen[want] {
			t.Errorf("no audit record with code %s (have %v)", want, codesSeen)
		}
	}
	raw, _ := os.ReadFile(auditFile)
	for _, secret := range []string{socKey, adminKey, analystKey, "soc-key-guess", "Bearer", "eyJ"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the audit log holds %q", secret)
		}
	}

	// Reload: soc-bot may now update; in-flight state is not needed here,
	// the server tests cover calls that straddle a reload.
	if err := os.WriteFile(policyFile, []byte(strings.Replace(apiKeyPolicy, "[incidents.read, hunting.run]", "[incidents.read, incidents.write, hunting.run]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.gw.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	for _, c := range g.clients(t) {
		if _, err := c.UpdateIncident(soc(), &defenderv1.UpdateIncidentRequest{
			Incident: &defenderv1.Incident{Name: home + "/incidents/1000", AssignedTo: "soc@contoso.com"}, UpdateMask: mask("assigned_to")}); err != nil {
			t.Errorf("%s: update after the reload: %v", c.name(), err)
		}
	}
	// An invalid policy is refused and the current one kept.
	if err := os.WriteFile(policyFile, []byte("callers:\n  - identity: api-key:soc-bot\n    operations: [incidents.delete]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.gw.Reload(); err == nil || !strings.Contains(err.Error(), "incidents.delete") {
		t.Errorf("Reload of an invalid policy = %v, want an error naming the operation", err)
	}
	for _, c := range g.clients(t) {
		if _, err := c.ListIncidents(soc(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1}); err != nil {
			t.Errorf("%s: the old policy was not kept: %v", c.name(), err)
		}
	}
}

func TestMTLSCallers(t *testing.T) {
	emu := startEmulator(t)
	ca, otherCA := testpki.NewCA(t, "Contoso Internal CA"), testpki.NewCA(t, "Somebody Else's CA")
	server := ca.Issue(t, testpki.LeafSpec{Server: true, Subject: pkix.Name{CommonName: "gateway"}})
	soc := clientLeaf(t, ca, "soc-triage", "spiffe://contoso.example/ns/soc/sa/triage")
	reporting := clientLeaf(t, ca, "reporting", "")
	rogue := clientLeaf(t, otherCA, "soc-triage", "spiffe://contoso.example/ns/soc/sa/triage")
	policy := writeFile(t, "policy.yaml", `
callers:
  - identity: mtls:spiffe://contoso.example/ns/soc/sa/triage
    tenants: [default]
    operations: [incidents.read]
  - identity: "mtls:CN=reporting,O=Contoso SOC"
    tenants: [default]
    operations: [hunting.run]
`)
	g := startGateway(t, emu, appConfig(t, emu, "graph", identity.ClientID, identity.ClientSecret,
		"--caller-auth", "mtls", "--client-ca-file", writeFile(t, "ca.pem", string(ca.PEM)),
		"--tls-cert-file", writeFile(t, "tls.pem", string(server.CertPEM)), "--tls-key-file", writeFile(t, "tls.key", string(server.KeyPEM)),
		"--policy-file", policy))

	for i, c := range g.tlsClients(t, clientTLS(ca, &soc)) {
		t.Run(c.name(), func(t *testing.T) {
			resp, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 3})
			if err != nil || len(resp.GetIncidents()) != 3 {
				t.Fatalf("with a good certificate: %v", err)
			}
			who, err := c.WhoAmI(context.Background(), &defenderv1.WhoAmIRequest{Tenant: home})
			mustOK(t, err)
			if who.GetCaller() != "mtls:spiffe://contoso.example/ns/soc/sa/triage" {
				t.Errorf("caller = %q, want the certificate's URI SAN", who.GetCaller())
			}
			_, err = c.RunQuery(context.Background(), &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo | take 1"})
			wantStatus(t, err, codes.PermissionDenied, "OPERATION_NOT_ALLOWED")

			subject := g.tlsClients(t, clientTLS(ca, &reporting))[i]
			if _, err := subject.RunQuery(context.Background(), &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo | take 1"}); err != nil {
				t.Errorf("a certificate without a URI SAN is known by its subject: %v", err)
			}

			emu.ResetRequests()
			noCert := g.tlsClients(t, clientTLS(ca, nil))[i]
			_, err = noCert.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home})
			wantStatus(t, err, codes.Unauthenticated, "CLIENT_CERTIFICATE_REQUIRED")

			rogue := g.tlsClients(t, clientTLS(ca, &rogue))[i]
			if _, err := rogue.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home}); err == nil {
				t.Error("a certificate from another CA was accepted")
			}
			if calls := upstreamCalls(emu); len(calls) != 0 {
				t.Errorf("refused calls reached Entra or the API: %+v", calls)
			}
		})
	}
	// Health checks need no certificate.
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS(ca, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health without a certificate = %v, %v", resp, err)
	}
}

func TestJWTCallers(t *testing.T) {
	emu := startEmulator(t)
	policy := writeFile(t, "policy.yaml", `
callers:
  - identity: app:`+identity.CallerClientID+`
    tenants: [default]
    operations: [incidents.read]
  - identity: user:`+identity.HomeTenantID+`/`+identity.AliceObjectID+`
    tenants: [default]
    operations: [incidents.read, incidents.write]
`)
	g := startGateway(t, emu, appConfig(t, emu, "graph", identity.ClientID, identity.ClientSecret,
		"--caller-auth", "jwt", "--policy-file", policy))
	appToken := callerAppToken(t, emu)
	for _, c := range g.clients(t) {
		t.Run(c.name(), func(t *testing.T) {
			emu.ResetRequests()
			_, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home})
			wantStatus(t, err, codes.Unauthenticated, "CALLER_CREDENTIALS_MISSING")
			forged := userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN, Forged: true})
			_, err = c.ListIncidents(asUser(context.Background(), forged), &defenderv1.ListIncidentsRequest{Parent: home})
			wantStatus(t, err, codes.Unauthenticated, "TOKEN_INVALID", "signature")
			bob := userToken(t, emu, emulator.UserTokenSpec{UPN: identity.BobUPN})
			_, err = c.ListIncidents(asUser(context.Background(), bob), &defenderv1.ListIncidentsRequest{Parent: home})
			wantStatus(t, err, codes.PermissionDenied, "", "user:"+identity.HomeTenantID+"/"+identity.BobObjectID, identity.BobUPN)
			if calls := upstreamCalls(emu); len(calls) != 0 {
				t.Errorf("refused calls reached Entra or the API: %+v", calls)
			}

			app := asUser(context.Background(), appToken)
			if got := listAllIn(app, t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 100); len(got) != 240 {
				t.Errorf("the caller app sees %d incidents through the app context, want 240", len(got))
			}
			who, err := c.WhoAmI(app, &defenderv1.WhoAmIRequest{Tenant: home})
			mustOK(t, err)
			if who.GetCaller() != "app:"+identity.CallerClientID || who.GetContext() != "contexts/app" {
				t.Errorf("WhoAmI as the caller app = %v", who)
			}
			_, err = c.UpdateIncident(app, &defenderv1.UpdateIncidentRequest{
				Incident: &defenderv1.Incident{Name: home + "/incidents/1000", AssignedTo: "x@contoso.com"}, UpdateMask: mask("assigned_to")})
			wantStatus(t, err, codes.PermissionDenied, "OPERATION_NOT_ALLOWED")

			alice := asUser(context.Background(), userToken(t, emu, emulator.UserTokenSpec{UPN: identity.AliceUPN}))
			who, err = c.WhoAmI(alice, &defenderv1.WhoAmIRequest{Tenant: home})
			mustOK(t, err)
			if who.GetCaller() != "user:"+identity.HomeTenantID+"/"+identity.AliceObjectID || who.GetCallerDisplayName() != identity.AliceUPN ||
				who.GetContext() != "contexts/user/on-behalf-of" {
				t.Errorf("WhoAmI as alice = %v", who)
			}
			wantAliceView(t, app, c, listAllIn(alice, t, c, &defenderv1.ListIncidentsRequest{Parent: home}, 100))
		})
	}
}
