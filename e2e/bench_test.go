package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender/credentials"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// The benchmarks measure one call through the gateway (gRPC and REST) next
// to the same upstream call made directly, against the same emulator, in
// the same run. See docs/benchmarks.md for how to run and read them.
//
// Names are key=value so that benchstat can pivot on them:
//
//	BenchmarkGetIncident/backend=graph/path=direct
//	go run golang.org/x/perf/cmd/benchstat@latest -col /path bench.txt

const (
	benchIncident = "1000"
	benchPageSize = 50
)

// paths are the ways a benchmark reaches the emulator, baseline first.
var paths = []string{"direct", "grpc", "rest"}

func BenchmarkGetIncident(b *testing.B) {
	for _, backend := range backends {
		b.Run("backend="+backend, func(b *testing.B) {
			env := startBenchEnv(b, backend)
			call := map[string]func(context.Context) error{
				"direct": func(ctx context.Context) error {
					_, err := env.direct.get(ctx, env.direct.getURL)
					return err
				},
				"grpc": func(ctx context.Context) error { return getIncident(ctx, env.grpc) },
				"rest": func(ctx context.Context) error { return getIncident(ctx, env.rest) },
			}
			runPaths(b, env, call)
		})
	}
}

func BenchmarkListIncidents(b *testing.B) {
	for _, backend := range backends {
		b.Run("backend="+backend, func(b *testing.B) {
			env := startBenchEnv(b, backend)
			call := map[string]func(context.Context) error{
				"direct": func(ctx context.Context) error {
					body, err := env.direct.get(ctx, env.direct.listURL)
					if err != nil {
						return err
					}
					if v, _ := body["value"].([]any); len(v) != benchPageSize {
						return fmt.Errorf("direct list returned %d incidents, want %d", len(v), benchPageSize)
					}
					return nil
				},
				"grpc": func(ctx context.Context) error { return listIncidents(ctx, env.grpc) },
				"rest": func(ctx context.Context) error { return listIncidents(ctx, env.rest) },
			}
			runPaths(b, env, call)
		})
	}
}

// runPaths runs one sub-benchmark per path. Each call is made once before
// the timed loop (b.Loop starts the timer on its first call): that warms the
// token caches (the benchmark's own and the gateway's) and the connections,
// and checks that the call succeeds.
func runPaths(b *testing.B, env *benchEnv, call map[string]func(context.Context) error) {
	ctx := context.Background()
	for _, path := range paths {
		b.Run("path="+path, func(b *testing.B) {
			// The emulator logs every request; start each run with an
			// empty log so that no path inherits a longer one.
			env.emu.ResetRequests()
			fn := call[path]
			if err := fn(ctx); err != nil {
				b.Fatalf("warm-up call: %v", err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := fn(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func getIncident(ctx context.Context, c client) error {
	in, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: home + "/incidents/" + benchIncident})
	if err != nil {
		return err
	}
	if len(in.GetAlerts()) == 0 {
		return fmt.Errorf("%s: incident %s has no alerts: the default view should be full", c.name(), in.GetName())
	}
	return nil
}

func listIncidents(ctx context.Context, c client) error {
	resp, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: benchPageSize})
	if err != nil {
		return err
	}
	if n := len(resp.GetIncidents()); n != benchPageSize {
		return fmt.Errorf("%s: list returned %d incidents, want %d", c.name(), n, benchPageSize)
	}
	return nil
}

// benchEnv is one emulator, one gateway on it for one backend, and the
// three ways to reach the emulator's incidents.
type benchEnv struct {
	emu    *emulator.Emulator
	direct *directClient
	grpc   client
	rest   client
}

// startBenchEnv starts one emulator and one gateway on it for backend, with
// the three ways to reach the emulator's incidents. Everything stops with b.
func startBenchEnv(b *testing.B, backend string) *benchEnv {
	b.Helper()
	emu := startEmulator(b)
	scope := identity.GraphResource + "/.default"
	direct := &directClient{
		getURL:  emu.GraphURL() + "/security/incidents/" + benchIncident + "?$expand=alerts",
		listURL: emu.GraphURL() + fmt.Sprintf("/security/incidents?$top=%d", benchPageSize),
		prefer:  "include-unknown-enum-members", // as the gateway sends to Graph
	}
	if backend == "xdr" {
		scope = identity.XDRResource + "/.default"
		direct.getURL = emu.XDRURL() + "/api/incidents/" + benchIncident
		direct.listURL = emu.XDRURL() + fmt.Sprintf("/api/incidents?$top=%d", benchPageSize)
		direct.prefer = ""
	}

	// The baseline: MSAL through credentials.NewApp, as the gateway does,
	// and the emulator's client (the transport the gateway uses too).
	direct.hc = emu.HTTPClient()
	var err error
	direct.tokens, err = credentials.NewApp(credentials.AppOptions{
		AuthorityHost: emu.AuthorityHost(),
		TenantID:      identity.HomeTenantID,
		ClientID:      identity.ClientID,
		ClientSecret:  identity.ClientSecret,
		Scope:         scope,
		HTTPClient:    emu.HTTPClient(),
	})
	if err != nil {
		b.Fatalf("credentials: %v", err)
	}

	g := startGateway(b, emu, sandboxConfig(b, emu, backend))
	clients := g.clients(b)
	return &benchEnv{emu: emu, direct: direct, grpc: clients[0], rest: clients[1]}
}

// directClient calls the emulator's API itself, the way a service without
// the gateway would: a bearer token from MSAL's cache, HTTPS, and the JSON
// body decoded (into map[string]any, so it does a client's share of work).
type directClient struct {
	hc              *http.Client
	tokens          *credentials.App
	getURL, listURL string
	prefer          string
}

func (d *directClient) get(ctx context.Context, url string) (map[string]any, error) {
	token, err := d.tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if d.prefer != "" {
		req.Header.Set("Prefer", d.prefer)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %.200s", url, resp.StatusCode, data)
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		return nil, err
	}
	return body, nil
}
