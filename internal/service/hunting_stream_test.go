package service

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// recordedStream is a HuntingService_StreamQueryServer keeping what is sent.
type recordedStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent []*defenderv1.StreamQueryResponse
}

func (s *recordedStream) Context() context.Context { return s.ctx }
func (s *recordedStream) Send(m *defenderv1.StreamQueryResponse) error {
	s.sent = append(s.sent, m)
	return nil
}

// shape is the messages of a stream as kinds and sizes: "schema 2",
// "batch 0+3" (first row, rows), "end 7".
func shape(msgs []*defenderv1.StreamQueryResponse) []string {
	var out []string
	for _, m := range msgs {
		switch p := m.GetPart().(type) {
		case *defenderv1.StreamQueryResponse_Schema:
			out = append(out, fmt.Sprintf("schema %d", len(p.Schema.GetColumns())))
		case *defenderv1.StreamQueryResponse_Batch:
			out = append(out, fmt.Sprintf("batch %d+%d", p.Batch.GetFirstRow(), len(p.Batch.GetRows())))
		case *defenderv1.StreamQueryResponse_End:
			out = append(out, fmt.Sprintf("end %d limit=%v", p.End.GetRowCount(), p.End.GetRowLimitReached()))
		}
	}
	return out
}

func rowsOf(n int, value string) []map[string]any {
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{"N": float64(i), "S": value}
	}
	return rows
}

func TestStreamQueryBatches(t *testing.T) {
	big := strings.Repeat("x", 300<<10) // four of these pass 1 MiB
	tests := []struct {
		name     string
		rows     []map[string]any
		maxBatch int32
		want     []string
	}{
		{"empty result", nil, 0, []string{"schema 2", "end 0 limit=false"}},
		{"one batch by default", rowsOf(7, "a"), 0, []string{"schema 2", "batch 0+7", "end 7 limit=false"}},
		{"batches by rows", rowsOf(7, "a"), 3, []string{"schema 2", "batch 0+3", "batch 3+3", "batch 6+1", "end 7 limit=false"}},
		{"batches by bytes", rowsOf(5, big), 0, []string{"schema 2", "batch 0+3", "batch 3+2", "end 5 limit=false"}},
		{"the upstream's row limit", rowsOf(upstreamRowLimit, "a"), 10000, append(append([]string{"schema 2"}, batchShapes(upstreamRowLimit, 10000)...), "end 100000 limit=true")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := newFakeBackend(0)
			backend.hunting = &defender.HuntingResult{
				Columns: []defender.HuntingColumn{{Name: "N", Type: "Int64"}, {Name: "S", Type: "String"}},
				Rows:    tt.rows, Stats: map[string]any{"ExecutionTime": 0.5},
			}
			stream := &recordedStream{ctx: context.Background()}
			err := NewHuntingService(fakeResolver{backend: backend}, nil).StreamQuery(
				&defenderv1.StreamQueryRequest{Tenant: "tenants/default", Query: "T", MaxBatchRows: tt.maxBatch}, stream)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, shape(stream.sent)); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			for _, m := range stream.sent {
				if size := proto.Size(m); size > maxBatchBytes+64<<10 {
					t.Errorf("a message of %d bytes, over the batch bound", size)
				}
			}
			end := stream.sent[len(stream.sent)-1].GetEnd()
			if diff := cmp.Diff(mustStruct(t, map[string]any{"ExecutionTime": 0.5}), end.GetStats(), protocmp.Transform()); diff != "" {
				t.Errorf("end stats (-want +got):\n%s", diff)
			}
		})
	}
}

func batchShapes(rows, per int) []string {
	var out []string
	for first := 0; first < rows; first += per {
		out = append(out, fmt.Sprintf("batch %d+%d", first, min(per, rows-first)))
	}
	return out
}

func TestStreamQueryRefusesBadInputBeforeTheUpstream(t *testing.T) {
	backend := newFakeBackend(0)
	stream := &recordedStream{ctx: context.Background()}
	err := NewHuntingService(fakeResolver{backend: backend}, nil).StreamQuery(
		&defenderv1.StreamQueryRequest{Tenant: "nope", Query: "T"}, stream)
	wantCode(t, err, codes.InvalidArgument, "")
	if backend.callCount() != 0 || len(stream.sent) != 0 {
		t.Errorf("%d backend calls, %d messages; want none", backend.callCount(), len(stream.sent))
	}
}

func TestRunQueryResultTooLarge(t *testing.T) {
	backend := newFakeBackend(0)
	backend.hunting = &defender.HuntingResult{Columns: []defender.HuntingColumn{{Name: "S", Type: "String"}},
		Rows: rowsOf(100, strings.Repeat("y", 1<<10))}
	svc := NewHuntingService(fakeResolver{backend: backend}, nil, WithMaxResultBytes(64<<10))
	_, err := svc.RunQuery(context.Background(), &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "T"})
	st := wantCode(t, err, codes.FailedPrecondition, "RESULT_TOO_LARGE")
	if !strings.Contains(st.Message(), "StreamQuery") {
		t.Errorf("message %q does not name StreamQuery", st.Message())
	}
	if got := backend.hunts[0].MaxResultBytes; got != 96<<10 {
		t.Errorf("the backend read bound = %d, want 1.5 × 64 KiB", got)
	}
}
