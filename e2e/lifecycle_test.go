package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestTokensAreCachedAndFetchedOnce(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, sandboxConfig(t, emu, backend))
			c := g.clients(t)[0]
			if n := emu.TokenRequests(); n != 0 {
				t.Fatalf("%d token requests before any call", n)
			}
			// 20 concurrent cold calls share one token request.
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1})
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				mustOK(t, err)
			}
			if n := emu.TokenRequests(); n != 1 {
				t.Fatalf("20 concurrent cold calls made %d token requests, want 1", n)
			}
			// Later calls of every kind reuse the cached token.
			for _, cl := range g.clients(t) {
				for range 5 {
					_, err := cl.GetIncident(context.Background(), &defenderv1.GetIncidentRequest{Name: home + "/incidents/1000"})
					mustOK(t, err)
				}
				_, err := cl.RunQuery(context.Background(), &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo | count"})
				mustOK(t, err)
			}
			if n := emu.TokenRequests(); n != 1 {
				t.Errorf("after warm calls: %d token requests, want still 1", n)
			}
		})
	}
}

func TestGracefulShutdownDrainsInFlightCalls(t *testing.T) {
	emu := startEmulator(t)
	g := startGateway(t, emu, sandboxConfig(t, emu, "graph"))
	clients := g.clients(t)
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)

	// Warm the token so the slow part is the upstream call itself.
	_, err = clients[0].ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1})
	mustOK(t, err)
	emu.InjectFault(emulator.Fault{API: "graph", PathPrefix: "/v1.0/security/incidents", Delay: 1500 * time.Millisecond, Times: len(clients)})

	results := make(chan error, len(clients))
	for _, c := range clients {
		go func() {
			_, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 1})
			results <- err
		}()
	}
	time.Sleep(500 * time.Millisecond) // both calls are now waiting upstream
	g.stop()

	// While draining, health says NOT_SERVING.
	sawNotServing := false
	for range 20 {
		resp, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			sawNotServing = true
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if !sawNotServing {
		t.Error("health never reported NOT_SERVING during the drain")
	}
	for range clients {
		mustOK(t, <-results)
	}
	select {
	case err := <-g.done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
		g.done <- nil // for the cleanup's check
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not stop after draining")
	}
	_, err = defenderv1.NewIncidentServiceClient(conn).ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("a call after shutdown got %v, want UNAVAILABLE", err)
	}
}

func TestListContextsNeverCarriesSecrets(t *testing.T) {
	forEach(t, func(t *testing.T, g *gateway, c client) {
		resp, err := c.ListContexts(context.Background(), &defenderv1.ListContextsRequest{})
		mustOK(t, err)
		if len(resp.GetContexts()) != 2 || resp.GetContexts()[1].GetName() != "contexts/user/on-behalf-of" {
			t.Fatalf("got contexts %v, want the app context and on-behalf-of", resp.GetContexts())
		}
		if obo := resp.GetContexts()[1]; obo.GetKind() != defenderv1.ContextKind_CONTEXT_KIND_USER ||
			obo.GetTokenStatus() != defenderv1.TokenStatus_TOKEN_STATUS_UNSPECIFIED || obo.GetTokenStatusDetail() == "" {
			t.Errorf("on-behalf-of context = %v, want an unchecked user context with a detail", obo)
		}
		ctx := resp.GetContexts()[0]
		if ctx.GetKind() != defenderv1.ContextKind_CONTEXT_KIND_APP || ctx.GetCredentialKind() != defenderv1.CredentialKind_CREDENTIAL_KIND_CLIENT_SECRET {
			t.Errorf("context = %v", ctx)
		}
		if strings.Contains(protojson.Format(resp), identity.ClientSecret) {
			t.Error("ListContexts leaks the client secret")
		}
		if ctx.GetTenant() == "" || ctx.GetClientId() == "" || ctx.GetApiUrl() == "" || ctx.GetBackend() == defenderv1.Backend_BACKEND_UNSPECIFIED {
			t.Errorf("context lacks fields: %v", ctx)
		}
	})
}

func TestCertificateCredential(t *testing.T) {
	emu := startEmulator(t)
	certFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(certFile, emu.ClientCertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{
		"--tenant-id", identity.HomeTenantDomain, // a verified domain works as the tenant
		"--client-id", identity.ClientID,
		"--client-certificate-file", certFile,
		"--authority-host", emu.AuthorityHost(),
		"--api-url", emu.GraphURL(),
		"--grpc-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0",
	}, func(string) string { return "" })
	mustOK(t, err)
	mustOK(t, cfg.Validate())
	g := startGateway(t, emu, cfg)
	for _, c := range g.clients(t) {
		resp, err := c.ListIncidents(context.Background(), &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 3})
		mustOK(t, err)
		if len(resp.GetIncidents()) != 3 {
			t.Errorf("got %d incidents, want 3", len(resp.GetIncidents()))
		}
		ctxs, err := c.ListContexts(context.Background(), &defenderv1.ListContextsRequest{})
		mustOK(t, err)
		if k := ctxs.GetContexts()[0].GetCredentialKind(); k != defenderv1.CredentialKind_CREDENTIAL_KIND_CERTIFICATE {
			t.Errorf("credential kind = %v, want CERTIFICATE", k)
		}
		if strings.Contains(protojson.Format(ctxs), "PRIVATE KEY") {
			t.Error("ListContexts leaks the private key")
		}
	}
}
