package defender

import "fmt"

// HuntingSink receives a hunting result while the upstream body is being
// decoded: the columns once, before any row; then each row, its values
// typed by their columns (as RunHuntingQuery types them); and the stats
// when the upstream sends them (XDR, before or after the rows). An error
// of the sink stops the decoding and the upstream read; the call returns
// it unchanged. The sink is called from the calling goroutine only.
type HuntingSink interface {
	Columns(cols []HuntingColumn) error
	Row(row map[string]any) error
	Stats(stats map[string]any) error
}

// DefaultMaxHuntingResultBytes bounds the body RunHuntingQuery reads when
// the query names no bound: the largest documented result (Graph's 50 MB)
// with room to spare.
const DefaultMaxHuntingResultBytes = 64 << 20

// ResultTooLargeError is RunHuntingQuery's answer to a result larger than
// limit bytes: it names StreamQuery, which has no such bound.
func ResultTooLargeError(limit int64) *Error {
	return &Error{Kind: KindFailedPrecondition, Reason: ReasonResultTooLarge,
		Message: fmt.Sprintf("the query result is larger than the %d bytes one RunQuery response may carry: "+
			"use HuntingService.StreamQuery (REST POST /v1/{tenant=tenants/*}:streamHuntingQuery), "+
			"or narrow the query (fewer columns, a shorter time window)", limit),
		Metadata: map[string]string{"limit_bytes": fmt.Sprint(limit), "use": "HuntingService.StreamQuery"}}
}
