package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/defender-gateway/gateway/internal/defender"
)

// maxRowsBeforeSchema bounds the rows held back when a body sends its
// results before their schema. Both APIs send the schema first; JSON
// objects are unordered, so another order is accepted, within this bound.
const maxRowsBeforeSchema = 10_000

// noRetry marks a failure that must not be sent again, whatever its kind:
// a stream whose caller has already received part of the result.
type noRetry struct{ err error }

func (e *noRetry) Error() string { return e.err.Error() }
func (e *noRetry) Unwrap() error { return e.err }

// streamError maps what a call's stream returned: the body's read and
// decode failures become the call's transport and malformed-response
// errors; the stream's own errors pass unchanged.
func streamError(ctx context.Context, c Call, status int, err error) error {
	var (
		read      *bodyReadError
		malformed *malformedBodyError
		final     *noRetry
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &final):
		return &noRetry{streamError(ctx, c, status, final.err)}
	case errors.As(err, &read):
		return transportError(ctx, c, read.err)
	case errors.As(err, &malformed):
		return &defender.Error{Kind: defender.KindUnavailable, Reason: defender.ReasonUpstreamMalformed,
			Message: c.Op + ": the upstream sent a malformed response", UpstreamStatus: status, Cause: malformed.err}
	}
	return err
}

// bodyReadError is a failure to read the body itself (the connection, the
// attempt's deadline), as opposed to a body that does not decode.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// malformedBodyError is a body that is not the JSON of a hunting result.
type malformedBodyError struct{ err error }

func (e *malformedBodyError) Error() string { return e.err.Error() }
func (e *malformedBodyError) Unwrap() error { return e.err }

// sinkError carries an error of the sink through the decoder unchanged.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// recordingReader remembers the first error of the body other than EOF,
// so that a decode failure caused by it is reported as a read failure.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// decodeHunting decodes a hunting response body ({"schema","results"} on
// Graph, {"Stats","Schema","Results"} on XDR; keys case-insensitive) token
// by token, handing each row to sink as soon as it is decoded: the body is
// never held whole. Stats go to the sink only with keepStats. The error is
// the sink's, a *bodyReadError or a *malformedBodyError.
func decodeHunting(body io.Reader, sink defender.HuntingSink, keepStats bool) error {
	rr := &recordingReader{r: body}
	err := decodeHuntingTokens(json.NewDecoder(rr), sink, keepStats)
	var se *sinkError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se.err
	case rr.err != nil:
		var e *defender.Error
		if errors.As(rr.err, &e) {
			return e // a bound of the reader itself (resultCap)
		}
		return &bodyReadError{rr.err}
	}
	return &malformedBodyError{err}
}

func decodeHuntingTokens(dec *json.Decoder, sink defender.HuntingSink, keepStats bool) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	var (
		types   map[string]string
		schema  bool
		pending []map[string]any // rows before the schema
	)
	row := func(r map[string]any) error {
		for name, v := range r {
			r[name] = huntingValue(types[name], v)
		}
		if err := sink.Row(r); err != nil {
			return &sinkError{err}
		}
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		switch strings.ToLower(key) {
		case "schema":
			var cols []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			}
			if err := dec.Decode(&cols); err != nil {
				return err
			}
			out := make([]defender.HuntingColumn, 0, len(cols))
			types = make(map[string]string, len(cols))
			for _, c := range cols {
				out = append(out, defender.HuntingColumn{Name: c.Name, Type: c.Type})
				types[c.Name] = c.Type
			}
			if err := sink.Columns(out); err != nil {
				return &sinkError{err}
			}
			schema = true
			for _, r := range pending {
				if err := row(r); err != nil {
					return err
				}
			}
			pending = nil
		case "results":
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if tok == nil { // "results": null
				continue
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return fmt.Errorf("results is %v, not an array", tok)
			}
			for dec.More() {
				var r map[string]any
				if err := dec.Decode(&r); err != nil {
					return err
				}
				if !schema {
					if len(pending) >= maxRowsBeforeSchema {
						return fmt.Errorf("more than %d rows before the schema", maxRowsBeforeSchema)
					}
					pending = append(pending, r)
					continue
				}
				if err := row(r); err != nil {
					return err
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return err
			}
		case "stats":
			var stats map[string]any
			if err := dec.Decode(&stats); err != nil {
				return err
			}
			if keepStats && stats != nil {
				if err := sink.Stats(stats); err != nil {
					return &sinkError{err}
				}
			}
		default: // @odata.context and anything newer
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if !schema { // no schema at all: the rows as decoded
		if err := sink.Columns([]defender.HuntingColumn{}); err != nil {
			return &sinkError{err}
		}
		for _, r := range pending {
			if err := row(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("got %v, want %v", tok, want)
	}
	return nil
}

// resultCap fails the read of a body past max bytes with the caller's
// error: RunHuntingQuery's bound on what it holds.
type resultCap struct {
	r    io.Reader
	left int64
	err  *defender.Error
}

func (c *resultCap) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, c.err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// collectSink builds a whole HuntingResult.
type collectSink struct{ res defender.HuntingResult }

func (s *collectSink) Columns(cols []defender.HuntingColumn) error {
	s.res.Columns = cols
	s.res.Rows = []map[string]any{}
	return nil
}

func (s *collectSink) Row(r map[string]any) error {
	s.res.Rows = append(s.res.Rows, r)
	return nil
}

func (s *collectSink) Stats(stats map[string]any) error {
	s.res.Stats = stats
	return nil
}

// deliveredSink records whether the sink took anything: from then on a
// failed attempt cannot be sent again, as the caller has seen its start.
type deliveredSink struct {
	defender.HuntingSink
	delivered bool
}

func (s *deliveredSink) Columns(cols []defender.HuntingColumn) error {
	s.delivered = true
	return s.HuntingSink.Columns(cols)
}

func (s *deliveredSink) Row(r map[string]any) error {
	s.delivered = true
	return s.HuntingSink.Row(r)
}

func (s *deliveredSink) Stats(stats map[string]any) error {
	s.delivered = true
	return s.HuntingSink.Stats(stats)
}

// RunHunting sends the hunting request c and collects its result, reading
// at most q.MaxResultBytes of body. Each attempt starts a new result.
func (u *Client) RunHunting(ctx context.Context, c Call, q defender.HuntingQuery, keepStats bool) (*defender.HuntingResult, error) {
	limit := q.MaxResultBytes
	if limit <= 0 {
		limit = defender.DefaultMaxHuntingResultBytes
	}
	var res *defender.HuntingResult
	c.stream = func(r io.Reader) error {
		s := &collectSink{}
		if err := decodeHunting(&resultCap{r: r, left: limit, err: defender.ResultTooLargeError(limit)}, s, keepStats); err != nil {
			return err
		}
		res = &s.res
		return nil
	}
	if err := u.Send(ctx, c, nil); err != nil {
		return nil, err
	}
	return res, nil
}

// StreamHunting sends the hunting request c and hands its result to sink
// as it is decoded. An attempt that fails after the sink took anything is
// not sent again.
func (u *Client) StreamHunting(ctx context.Context, c Call, sink defender.HuntingSink, keepStats bool) error {
	c.stream = func(r io.Reader) error {
		s := &deliveredSink{HuntingSink: sink}
		err := decodeHunting(r, s, keepStats)
		if err != nil && s.delivered {
			return &noRetry{err}
		}
		return err
	}
	return u.Send(ctx, c, nil)
}
