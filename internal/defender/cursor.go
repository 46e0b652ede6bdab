package defender

import (
	"bytes"
	"encoding/json"
	"io"
)

// Cursors are compact JSON text. The service signs them; the clients still
// validate what they decode (unknown keys, ranges, URLs under the base).

// graphCursor resumes a Graph listing: fetch URL (an upstream page link) and
// skip the first Skip incidents of that page, which an earlier page already
// returned.
type graphCursor struct {
	URL  string `json:"url"`
	Skip int    `json:"skip,omitempty"`
}

// xdrCursor resumes an XDR listing at the absolute upstream position Skip
// (sent as $skip). As $skip takes any offset, no in-page offset is needed.
type xdrCursor struct {
	Skip int `json:"skip"`
}

// maxCursorOffset bounds the offsets a cursor may carry.
const maxCursorOffset = 1 << 30

func encodeCursor(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Cursors are plain structs of strings and ints; this cannot happen.
		return ""
	}
	return string(b)
}

// decodeCursor decodes s strictly into v: one JSON object with known keys.
func decodeCursor(s string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidCursor()
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidCursor()
	}
	return nil
}

func invalidCursor() *Error {
	return Errorf(KindInvalidArgument, ReasonInvalidArgument, "the page cursor is not valid")
}

// validatePageSize checks ListQuery.PageSize.
func validatePageSize(n int) error {
	if n < 1 || n > maxPageSize {
		return Errorf(KindInvalidArgument, ReasonInvalidArgument, "page size must be between 1 and %d", maxPageSize)
	}
	return nil
}

const (
	maxPageSize = 500
	// maxUpstreamPagesPerList bounds the upstream calls of one ListIncidents
	// (a severity filter on XDR may scan many pages). When it is reached the
	// page holds fewer incidents than asked and NextCursor goes on.
	maxUpstreamPagesPerList = 25
)
