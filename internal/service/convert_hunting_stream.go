package service

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// Bounds of StreamQuery's row batches.
const (
	// defaultBatchRows is max_batch_rows when the request leaves it 0.
	defaultBatchRows = 1000
	// maxBatchBytes ends a batch once its rows reach it (a single larger
	// row goes alone), far below a gRPC client's default 4 MiB message.
	maxBatchBytes = 1 << 20
	// upstreamRowLimit is the most rows the upstream returns (reference
	// §5, §7.5): a result of exactly this many may have been cut there.
	upstreamRowLimit = 100_000
)

// batchSink turns a decoded hunting result into StreamQuery messages: the
// schema, row batches bounded by rows and bytes, each sent as soon as it
// is full, and the end. send blocks while the caller is not reading, and
// with it the upstream read.
type batchSink struct {
	send    func(*defenderv1.StreamQueryResponse) error
	maxRows int

	schemaSent bool
	batch      *defenderv1.QueryRowBatch
	bytes      int
	rows       int64
	stats      *structpb.Struct
}

func newBatchSink(send func(*defenderv1.StreamQueryResponse) error, maxRows int) *batchSink {
	if maxRows <= 0 {
		maxRows = defaultBatchRows
	}
	return &batchSink{send: send, maxRows: maxRows}
}

var _ defender.HuntingSink = (*batchSink)(nil)

func (s *batchSink) Columns(cols []defender.HuntingColumn) error {
	out := make([]*defenderv1.Column, 0, len(cols))
	for _, c := range cols {
		out = append(out, &defenderv1.Column{Name: c.Name, Type: c.Type})
	}
	s.schemaSent = true
	return s.send(&defenderv1.StreamQueryResponse{Part: &defenderv1.StreamQueryResponse_Schema{Schema: &defenderv1.QuerySchema{Columns: out}}})
}

func (s *batchSink) Row(row map[string]any) error {
	st, err := toStruct(row)
	if err != nil {
		// Dropping the value would silently change the query's answer.
		return internalError(fmt.Errorf("hunting row %d: %w", s.rows, err))
	}
	if st == nil {
		st = &structpb.Struct{}
	}
	size := proto.Size(st)
	if s.batch != nil && (len(s.batch.Rows) >= s.maxRows || s.bytes+size > maxBatchBytes) {
		if err := s.flush(); err != nil {
			return err
		}
	}
	if s.batch == nil {
		s.batch = &defenderv1.QueryRowBatch{FirstRow: s.rows}
	}
	s.batch.Rows = append(s.batch.Rows, st)
	s.bytes += size
	s.rows++
	return nil
}

func (s *batchSink) Stats(stats map[string]any) error {
	st, err := toStruct(stats)
	if err != nil {
		return internalError(fmt.Errorf("hunting stats: %w", err))
	}
	s.stats = st
	return nil
}

// flush sends the rows held, if any.
func (s *batchSink) flush() error {
	if s.batch == nil {
		return nil
	}
	b := s.batch
	s.batch, s.bytes = nil, 0
	return s.send(&defenderv1.StreamQueryResponse{Part: &defenderv1.StreamQueryResponse_Batch{Batch: b}})
}

// finish sends the last rows and the end (and the schema, for a backend
// that handed none).
func (s *batchSink) finish() error {
	if !s.schemaSent {
		if err := s.Columns(nil); err != nil {
			return err
		}
	}
	if err := s.flush(); err != nil {
		return err
	}
	return s.send(&defenderv1.StreamQueryResponse{Part: &defenderv1.StreamQueryResponse_End{End: &defenderv1.QueryEnd{
		RowCount: s.rows, Stats: s.stats, RowLimitReached: s.rows >= upstreamRowLimit}}})
}
