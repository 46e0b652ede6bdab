package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// streamed is one StreamQuery as a caller collects it.
type streamed struct {
	msgs []*defenderv1.StreamQueryResponse
	err  error // the status that ended the stream, nil for success
}

// streamGRPC runs StreamQuery over gRPC.
func streamGRPC(ctx context.Context, g *gateway, t *testing.T, req *defenderv1.StreamQueryRequest) streamed {
	t.Helper()
	stream, err := defenderv1.NewHuntingServiceClient(quotaConn(t, g)).StreamQuery(ctx, req)
	if err != nil {
		return streamed{err: err}
	}
	var out streamed
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			out.err = err
			return out
		}
		out.msgs = append(out.msgs, m)
	}
}

// streamREST runs StreamQuery over REST: newline-delimited JSON, one
// {"result": …} per message, or {"error": …} last.
func streamREST(ctx context.Context, g *gateway, t *testing.T, req *defenderv1.StreamQueryRequest) streamed {
	t.Helper()
	body := proto.Clone(req).(*defenderv1.StreamQueryRequest)
	body.Tenant = ""
	data, err := protojson.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+g.httpAddr+"/v1/"+req.GetTenant()+":streamHuntingQuery", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Content-Type", "application/json")
	md, _ := metadata.FromOutgoingContext(ctx) // withHeaders, as the REST client sends them
	for k, vs := range md {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out streamed
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
	for sc.Scan() {
		var line struct {
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("a line that is not JSON: %q", sc.Text())
		}
		switch {
		case line.Error != nil:
			st := &spb.Status{}
			if err := protojson.Unmarshal(line.Error, st); err != nil {
				t.Fatal(err)
			}
			if int(runtimeHTTPStatus(codes.Code(st.GetCode()))) != resp.StatusCode && len(out.msgs) == 0 {
				t.Errorf("an error before any message came with HTTP %d, want %d", resp.StatusCode, runtimeHTTPStatus(codes.Code(st.GetCode())))
			}
			out.err = status.FromProto(st).Err()
			return out
		case line.Result != nil:
			m := &defenderv1.StreamQueryResponse{}
			if err := protojson.Unmarshal(line.Result, m); err != nil {
				t.Fatal(err)
			}
			out.msgs = append(out.msgs, m)
		default:
			t.Fatalf("a line with neither result nor error: %q", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a stream that succeeded came with HTTP %d", resp.StatusCode)
	}
	return out
}

// runtimeHTTPStatus is the HTTP status grpc-gateway gives a code.
func runtimeHTTPStatus(c codes.Code) int {
	switch c {
	case codes.InvalidArgument, codes.FailedPrecondition:
		return http.StatusBadRequest
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

var streamTransports = []struct {
	name string
	run  func(context.Context, *gateway, *testing.T, *defenderv1.StreamQueryRequest) streamed
}{{"grpc", streamGRPC}, {"rest", streamREST}}

// rowsOfStream checks the shape of a successful stream (the schema first,
// batches in order, the end last with the row count) and returns its
// columns, rows and end.
func rowsOfStream(t *testing.T, s streamed, maxBatch int) ([]*defenderv1.Column, []*structpb.Struct, *defenderv1.QueryEnd) {
	t.Helper()
	if s.err != nil {
		t.Fatalf("stream failed: %v", s.err)
	}
	if len(s.msgs) < 2 || s.msgs[0].GetSchema() == nil || s.msgs[len(s.msgs)-1].GetEnd() == nil {
		t.Fatalf("stream of %d messages, want the schema first and the end last", len(s.msgs))
	}
	var rows []*structpb.Struct
	for _, m := range s.msgs[1 : len(s.msgs)-1] {
		b := m.GetBatch()
		if b == nil {
			t.Fatalf("a %T between the schema and the end", m.GetPart())
		}
		if b.GetFirstRow() != int64(len(rows)) || len(b.GetRows()) == 0 || len(b.GetRows()) > maxBatch {
			t.Errorf("batch at %d of %d rows after %d rows; want it to continue them, with 1 to %d rows", b.GetFirstRow(), len(b.GetRows()), len(rows), maxBatch)
		}
		rows = append(rows, b.GetRows()...)
	}
	end := s.msgs[len(s.msgs)-1].GetEnd()
	if end.GetRowCount() != int64(len(rows)) || end.GetRowLimitReached() {
		t.Errorf("end: %d rows (limit reached %v), want the %d streamed", end.GetRowCount(), end.GetRowLimitReached(), len(rows))
	}
	return s.msgs[0].GetSchema().GetColumns(), rows, end
}
