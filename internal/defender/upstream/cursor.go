package upstream

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/defender-gateway/gateway/internal/defender"
)

// Cursors are compact JSON text. The service signs them; the clients still
// validate what they decode (unknown keys, ranges, URLs under the base).

// GraphCursor resumes a Graph listing: fetch URL (an upstream page link) and
// skip the first Skip incidents of that page, which an earlier page already
// returned.
type GraphCursor struct {
	URL  string `json:"url"`
	Skip int    `json:"skip,omitempty"`
}

// XDRCursor resumes an XDR listing at the absolute upstream position Skip
// (sent as $skip). As $skip takes any offset, no in-page offset is needed.
type XDRCursor struct {
	Skip int `json:"skip"`
}

// MaxCursorOffset bounds the offsets a cursor may carry.
const MaxCursorOffset = 1 << 30

func EncodeCursor(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Cursors are plain structs of strings and ints; this cannot happen.
		return ""
	}
	return string(b)
}

// DecodeCursor decodes s strictly into v: one JSON object with known keys.
func DecodeCursor(s string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return InvalidCursor()
	}
	if _, err := dec.Token(); err != io.EOF {
		return InvalidCursor()
	}
	return nil
}

func InvalidCursor() *defender.Error {
	return defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "the page cursor is not valid")
}

// ValidatePageSize checks ListQuery.PageSize.
func ValidatePageSize(n int) error {
	if n < 1 || n > MaxPageSize {
		return defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "page size must be between 1 and %d", MaxPageSize)
	}
	return nil
}

const (
	MaxPageSize = 500
	// MaxUpstreamPagesPerList bounds the upstream calls of one ListIncidents
	// (a severity filter on XDR may scan many pages). When it is reached the
	// page holds fewer incidents than asked and NextCursor goes on.
	MaxUpstreamPagesPerList = 25
)
