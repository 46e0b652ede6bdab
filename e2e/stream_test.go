package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// TestStreamQueryMatchesRunQuery: a streamed result is RunQuery's, in
// batches of at most max_batch_rows, over gRPC and REST, on both backends.
func TestStreamQueryMatchesRunQuery(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, sandboxConfig(t, emu, backend))
			const query = "DeviceProcessEvents | take 1000"
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			whole, err := defenderv1.NewHuntingServiceClient(quotaConn(t, g)).RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: query})
			mustOK(t, err)
			if len(whole.GetRows()) != 1000 {
				t.Fatalf("RunQuery gave %d rows, want 1000", len(whole.GetRows()))
			}
			for _, tr := range streamTransports {
				t.Run(tr.name, func(t *testing.T) {
					s := tr.run(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: home, Query: query, MaxBatchRows: 300})
					cols, rows, end := rowsOfStream(t, s, 300)
					if len(s.msgs) != 1+4+1 {
						t.Errorf("%d messages, want the schema, 4 batches of up to 300 and the end", len(s.msgs))
					}
					if diff := cmp.Diff(whole.GetColumns(), cols, protocmp.Transform()); diff != "" {
						t.Errorf("columns (-RunQuery +StreamQuery):\n%s", diff)
					}
					if diff := cmp.Diff(whole.GetRows(), rows, protocmp.Transform()); diff != "" {
						t.Errorf("rows (-RunQuery +StreamQuery):\n%s", diff)
					}
					if (backend == "xdr") != (end.GetStats() != nil) {
						t.Errorf("end stats %v on %s: want them on XDR only", end.GetStats(), backend)
					}
				})
			}
		})
	}
}

// TestStreamQueryErrors: a request the upstream or the gateway refuses
// ends the stream before any message, with the same status as RunQuery's
// (on REST, the HTTP status of that code and one {"error": …} line).
func TestStreamQueryErrors(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, sandboxConfig(t, emu, backend))
			tests := []struct {
				name   string
				req    *defenderv1.StreamQueryRequest
				code   codes.Code
				reason string
			}{
				{"a KQL error", &defenderv1.StreamQueryRequest{Tenant: home, Query: "DeviceProcessEvents | whre x"}, codes.InvalidArgument, "UPSTREAM_BAD_REQUEST"},
				{"a bad batch size", &defenderv1.StreamQueryRequest{Tenant: home, Query: "AlertInfo", MaxBatchRows: 10001}, codes.InvalidArgument, "INVALID_ARGUMENT"},
				{"a tenant not served", &defenderv1.StreamQueryRequest{Tenant: "tenants/" + identity.ThirdTenantID, Query: "AlertInfo"}, codes.PermissionDenied, "TENANT_NOT_ALLOWED"},
			}
			for _, tt := range tests {
				for _, tr := range streamTransports {
					t.Run(tt.name+"/"+tr.name, func(t *testing.T) {
						ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
						defer cancel()
						s := tr.run(ctx, g, t, tt.req)
						if len(s.msgs) != 0 {
							t.Errorf("%d messages before the error, want none", len(s.msgs))
						}
						wantStatus(t, s.err, tt.code, tt.reason)
					})
				}
			}
		})
	}
}

// TestStreamQueryTakesQuota: streams are admitted by the quota scheduler
// like RunQuery: past the hunting budget's burst, a stream is refused at
// once with RetryInfo, before any message, and nothing goes upstream.
func TestStreamQueryTakesQuota(t *testing.T) {
	emu := startLimitedEmulator(t)
	g := startGateway(t, emu, appConfig(t, emu, "graph", identity.ClientID, identity.ClientSecret, "--quota-enabled=true"))
	refused, served := 0, 0
	for i := range 8 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s := streamGRPC(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: home, Query: fmt.Sprintf("AlertInfo | take %d", i+1)})
		cancel()
		if s.err == nil {
			served++
			continue
		}
		wantQuotaExhausted(t, s.err, time.Minute)
		if len(s.msgs) != 0 {
			t.Errorf("a refused stream sent %d messages", len(s.msgs))
		}
		refused++
	}
	// The hunting budget is 45 a minute: a burst of 4 (quota.SafeLimit).
	if served < 3 || served > 5 || refused == 0 {
		t.Errorf("%d streams served and %d refused, want about the burst of 4 served", served, refused)
	}
	if stat := emu.RouteStat(emulator.APIGraph, identity.HomeTenantID, emulator.RouteHunting); stat.Accepted != served || stat.Throttled() != 0 {
		t.Errorf("the upstream ran %d queries and sent %d 429s, want the %d served and none", stat.Accepted, stat.Throttled(), served)
	}
}

// TestStreamQueryAtTheRowLimit: the upstream's 100,000 rows (about 50 MB
// of JSON) stream through in batches, and the end says the limit was
// reached.
func TestStreamQueryAtTheRowLimit(t *testing.T) {
	emu := startEmulator(t)
	g := startGateway(t, emu, sandboxConfig(t, emu, "graph"))
	// Generous: 50 MB of JSON through the race detector on a loaded
	// 2-core machine. Time is measured by the benchmark, not here.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stream, err := defenderv1.NewHuntingServiceClient(quotaConn(t, g)).StreamQuery(ctx,
		&defenderv1.StreamQueryRequest{Tenant: home, Query: "DeviceEvents | take 150000", MaxBatchRows: 5000})
	mustOK(t, err)
	rows, batches := 0, 0
	var end *defenderv1.QueryEnd
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		mustOK(t, err)
		if b := m.GetBatch(); b != nil {
			rows += len(b.GetRows())
			batches++
		}
		if m.GetEnd() != nil {
			end = m.GetEnd()
		}
	}
	// 5,000 rows are over the 1 MiB a batch holds: the bytes bound it.
	if rows != 100_000 || batches < 40 || end.GetRowCount() != 100_000 || !end.GetRowLimitReached() {
		t.Errorf("%d rows in %d batches, end %v; want 100,000 in batches of about 1 MiB (2,000-odd rows), and the row limit reached", rows, batches, end)
	}
	// RunQuery refuses the same result: it is larger than one response.
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err = defenderv1.NewHuntingServiceClient(quotaConn(t, g)).RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: "DeviceEvents | take 150000"})
	st := wantStatus(t, err, codes.FailedPrecondition, "RESULT_TOO_LARGE", "StreamQuery")
	if info := errorInfo(st); info.GetMetadata()["limit_bytes"] != "4194304" {
		t.Errorf("ErrorInfo metadata %v, want limit_bytes 4194304", info.GetMetadata())
	}
}

// TestStreamQueryCancelAndStall: a caller that cancels mid-stream ends it
// at once; a caller that stops reading has its stream ended after
// DEFENDER_STREAM_WRITE_TIMEOUT, with DEADLINE_EXCEEDED STREAM_WRITE_TIMEOUT
// on gRPC and the connection cut on REST (no end line).
func TestStreamQueryCancelAndStall(t *testing.T) {
	emu := startEmulator(t)
	g := startGateway(t, emu, appConfig(t, emu, "graph", identity.ClientID, identity.ClientSecret, "--stream-write-timeout", "1s"))
	// Fixed 64 KiB flow-control windows (no BDP growth): a client that
	// stops reading stalls the gateway's sends after a few messages.
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := defenderv1.NewHuntingServiceClient(conn)
	req := &defenderv1.StreamQueryRequest{Tenant: home, Query: "DeviceEvents | take 100000", MaxBatchRows: 2000}

	t.Run("cancel", func(t *testing.T) {
		// Its own gateway with the default write timeout: under load a
		// scheduling pause of 1 s between two reads must not end the
		// stream before the cancel does.
		g := startGateway(t, emu, appConfig(t, emu, "graph", identity.ClientID, identity.ClientSecret))
		ctx, cancel := context.WithCancel(context.Background())
		// Default windows: nothing but the cancel holds the result back.
		stream, err := defenderv1.NewHuntingServiceClient(quotaConn(t, g)).StreamQuery(ctx, req)
		mustOK(t, err)
		for range 2 { // the schema and a batch
			_, err := stream.Recv()
			mustOK(t, err)
		}
		cancel()
		for {
			if _, err := stream.Recv(); err != nil {
				if status.Code(err) != codes.Canceled {
					t.Errorf("after cancel: %v, want CANCELED", err)
				}
				break
			}
		}
		// The upstream request ends with the stream: the emulator stops
		// writing rows (it writes ahead at most one flush of 64 KiB and
		// what the connection buffers).
		var written int64
		waitFor(t, "the emulator to stop writing rows", func() bool {
			n := emu.HuntingRowsWritten()
			stopped := n == written
			written = n
			time.Sleep(200 * time.Millisecond)
			return stopped
		})
		if written >= 100_000 {
			t.Errorf("the emulator wrote all %d rows: the cancel did not reach the upstream", written)
		}
	})

	t.Run("grpc client stops reading", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		stream, err := client.StreamQuery(ctx, req)
		mustOK(t, err)
		for range 2 { // the schema and a batch: the result is flowing
			_, err := stream.Recv()
			mustOK(t, err)
		}
		// The windows fill at once, the gateway's send waits 1 s, then
		// gives up.
		time.Sleep(4 * time.Second)
		for {
			_, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				t.Fatal("the stream ended normally: the client's stall did not end it")
			}
			if err != nil {
				wantStatus(t, err, codes.DeadlineExceeded, "STREAM_WRITE_TIMEOUT")
				break
			}
		}
	})

	t.Run("rest client stops reading", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+g.httpAddr+"/v1/"+home+":streamHuntingQuery",
			bytes.NewReader([]byte(`{"query":"DeviceEvents | take 100000","maxBatchRows":2000}`)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadFull(resp.Body, make([]byte, 1<<10)); err != nil { // the result is flowing
			t.Fatal(err)
		}
		time.Sleep(8 * time.Second)
		body, err := io.ReadAll(resp.Body)
		if err == nil && bytes.Contains(body, []byte(`"end"`)) {
			t.Fatal("the whole stream arrived: the stalled client was not cut off")
		}
	})
}

// TestHuntingTimeoutIsClear: the upstream's 3-minute timeout is a clear
// INVALID_ARGUMENT carrying its message, for RunQuery and StreamQuery, and
// is not retried (it would time out again).
func TestHuntingTimeoutIsClear(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, sandboxConfig(t, emu, backend))
			api := emulator.APIGraph
			if backend == "xdr" {
				api = emulator.APIXDR
			}
			emu.InjectFault(emulator.HuntingTimeout(api, identity.HomeTenantID))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := defenderv1.NewHuntingServiceClient(quotaConn(t, g)).RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: "DeviceEvents | take 10"})
			wantStatus(t, err, codes.InvalidArgument, "UPSTREAM_BAD_REQUEST", "3-minute timeout")
			s := streamGRPC(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: home, Query: "DeviceEvents | take 10"})
			wantStatus(t, s.err, codes.InvalidArgument, "UPSTREAM_BAD_REQUEST", "3-minute timeout")
			if n := emu.RouteStat(api, identity.HomeTenantID, emulator.RouteHunting).Accepted; n > 2 {
				t.Errorf("%d hunting requests upstream, want one per call (no retry)", n)
			}
		})
	}
}

// TestHuntingResultTooLargeUpstreamIsClear: the upstream's refusal of a
// result over its size limit (a 400 sent before any row, the emulator's
// wording of it) is a clear INVALID_ARGUMENT carrying its message, for
// RunQuery and StreamQuery alike, and is not retried.
func TestHuntingResultTooLargeUpstreamIsClear(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t)
			g := startGateway(t, emu, sandboxConfig(t, emu, backend))
			api, limit := emulator.APIGraph, wire.GraphMaxResultBytes
			if backend == "xdr" {
				api, limit = emulator.APIXDR, wire.XDRMaxResultBytes
			}
			f := emulator.HuntingTimeout(api, identity.HomeTenantID)
			f.Message = fmt.Sprintf(wire.ResultTooLargeMessage, limit>>20)
			emu.InjectFault(f)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := defenderv1.NewHuntingServiceClient(quotaConn(t, g)).RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: "DeviceEvents"})
			wantStatus(t, err, codes.InvalidArgument, "UPSTREAM_BAD_REQUEST", "exceeds the allowed size")
			s := streamGRPC(ctx, g, t, &defenderv1.StreamQueryRequest{Tenant: home, Query: "DeviceEvents"})
			wantStatus(t, s.err, codes.InvalidArgument, "UPSTREAM_BAD_REQUEST", "exceeds the allowed size")
			if n := emu.RouteStat(api, identity.HomeTenantID, emulator.RouteHunting).Accepted; n > 2 {
				t.Errorf("%d hunting requests upstream, want one per call (no retry)", n)
			}
		})
	}
}
