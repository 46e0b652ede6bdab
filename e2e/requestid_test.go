package e2e

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// listWithRequestID lists incidents over transport ("grpc" or "rest") with
// the headers kv, and returns the error status and the request id the
// response carries (x-request-id metadata, or the X-Request-Id header).
func listWithRequestID(t *testing.T, g *gateway, transport string, kv ...string) (*status.Status, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if transport == "grpc" {
		conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var hdr, trl metadata.MD
		_, err = defenderv1.NewIncidentServiceClient(conn).ListIncidents(metadata.AppendToOutgoingContext(ctx, kv...),
			&defenderv1.ListIncidentsRequest{Parent: home, PageSize: 5}, grpc.Header(&hdr), grpc.Trailer(&trl))
		if err == nil {
			t.Fatal("the call succeeded, want an error")
		}
		ids := append(hdr.Get("x-request-id"), trl.Get("x-request-id")...)
		if len(ids) == 0 {
			t.Fatal("no x-request-id in the gRPC response")
		}
		return status.Convert(err), ids[0]
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.httpAddr+"/v1/"+home+"/incidents?pageSize=5", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	st := &spb.Status{}
	if resp.StatusCode == http.StatusOK || protojson.Unmarshal(body, st) != nil {
		t.Fatalf("HTTP %d %s, want an error with a google.rpc.Status body", resp.StatusCode, body)
	}
	return status.FromProto(st), resp.Header.Get("X-Request-Id")
}

// TestErrorInfoRequestIDIsTheGatewaysOwn: the request_id of an error's
// ErrorInfo is the gateway's request id (the one in its logs and in
// x-request-id), whether the caller chose it or not, and the upstream's ids
// are in upstream_request_id and upstream_client_request_id.
func TestErrorInfoRequestIDIsTheGatewaysOwn(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, sandboxConfig(t, emu, backend))
			api, prefix := emulator.APIGraph, "/v1.0/security/incidents"
			if backend == "xdr" {
				api, prefix = emulator.APIXDR, "/api/incidents"
			}
			remove := g.emu.InjectFault(emulator.Fault{API: api, PathPrefix: prefix, Status: http.StatusServiceUnavailable})
			defer remove()
			for _, transport := range []string{"grpc", "rest"} {
				for _, sent := range []string{"caller-id-" + transport, ""} {
					t.Run(transport+"/sent="+sent, func(t *testing.T) {
						var kv []string
						if sent != "" {
							kv = []string{"x-request-id", sent}
						}
						st, headerID := listWithRequestID(t, g, transport, kv...)
						if st.Code() != codes.Unavailable {
							t.Fatalf("got %v %q, want UNAVAILABLE", st.Code(), st.Message())
						}
						if sent != "" && headerID != sent {
							t.Errorf("x-request-id = %q, want the caller's %q", headerID, sent)
						}
						meta := errorInfo(st).GetMetadata()
						if meta["request_id"] != headerID || headerID == "" {
							t.Errorf("ErrorInfo request_id = %q, want the x-request-id %q", meta["request_id"], headerID)
						}
						up, client := meta["upstream_request_id"], meta["upstream_client_request_id"]
						if up == "" || client == "" || up == headerID || client == headerID || up == client {
							t.Errorf("upstream ids: request %q, client %q; want two ids of their own (gateway id %q)", up, client, headerID)
						}
					})
				}
			}
		})
	}
}

// TestErrorInfoRequestIDOnAuthenticationErrors: a call that caller
// authentication refuses carries the request id as well.
func TestErrorInfoRequestIDOnAuthenticationErrors(t *testing.T) {
	emu := startEmulator(t)
	g := startGateway(t, emu, appConfig(t, emu, "graph", identity.ClientID, identity.ClientSecret,
		"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t),
		"--policy-file", writeFile(t, "policy.yaml", apiKeyPolicy)))
	for _, transport := range []string{"grpc", "rest"} {
		t.Run(transport, func(t *testing.T) {
			st, headerID := listWithRequestID(t, g, transport, "x-api-key", "not-a-key", "x-request-id", "auth-fail-"+transport)
			info := errorInfo(st)
			if st.Code() != codes.Unauthenticated || info.GetReason() != "API_KEY_INVALID" {
				t.Fatalf("got %v %v, want UNAUTHENTICATED API_KEY_INVALID", st.Code(), info)
			}
			if headerID != "auth-fail-"+transport || info.GetMetadata()["request_id"] != headerID {
				t.Errorf("x-request-id %q, ErrorInfo request_id %q; want both auth-fail-%s", headerID, info.GetMetadata()["request_id"], transport)
			}
		})
	}
}
