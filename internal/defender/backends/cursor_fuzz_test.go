package backends

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
	"github.com/defender-gateway/gateway/internal/defender/graph"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
	"github.com/defender-gateway/gateway/internal/defender/xdr"
)

// FuzzCursor resumes a listing on both clients from an arbitrary cursor.
// A cursor is either refused with INVALID_ARGUMENT before any upstream
// call, or it is resumed exactly where it says: Graph fetches the cursor's
// URL, which is under the API base, and skips at most MaxCursorOffset
// incidents; XDR sends the cursor's offset as $skip. A cursor a client
// accepted still decodes to the same value after encoding it again.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{
		"", `{}`, `{"skip":0}`, `{"skip":5}`, `{"skip":-1}`, `{"skip":1073741825}`, `{"skip":1e3}`, `{"skip":"5"}`,
		`{"url":"https://graph.fuzz.test/v1.0/security/incidents?$top=50&$skiptoken=abc","skip":3}`,
		`{"url":"https://graph.fuzz.test/v1.0/security/incidents/../../beta/x"}`,
		`{"url":"https://graph.fuzz.test/v1.0%2f..%2fbeta"}`,
		`{"url":"https://evil.test/v1.0/security/incidents"}`,
		`{"url":"//graph.fuzz.test/v1.0/x"}`, `{"url":"https://user@graph.fuzz.test/v1.0/x"}`,
		`{"url":"https://graph.fuzz.test:443/v1.0/x"}`, `{"url":"HTTPS://GRAPH.FUZZ.TEST/v1.0/x"}`,
		`{"skip":1,"extra":true}`, `{"skip":1} {"skip":2}`, `{"skip":1}x`, `null`, `[]`,
		`{"url":"https://graph.fuzz.test/v1.0/x","url":"https://evil.test/"}`,
	} {
		f.Add(s)
	}
	rec := &requestRecorder{}
	client := &http.Client{Transport: rec}
	g, err := graph.New(defender.ClientOptions{BaseURL: "https://graph.fuzz.test/v1.0", HTTPClient: client, Tokens: defendertest.Tokens})
	if err != nil {
		f.Fatal(err)
	}
	x, err := xdr.New(defender.ClientOptions{BaseURL: "https://xdr.fuzz.test", HTTPClient: client, Tokens: defendertest.Tokens})
	if err != nil {
		f.Fatal(err)
	}
	base, err := upstream.ParseAPIBase("https://graph.fuzz.test/v1.0")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		if cursor == "" {
			return // a first page, not a cursor
		}
		ctx := context.Background()

		rec.urls = nil
		_, err := g.ListIncidents(ctx, defender.ListQuery{PageSize: 10, Cursor: cursor})
		if err != nil {
			mustRefuseCursor(t, "graph", err, rec.urls)
		} else {
			var c upstream.GraphCursor
			if upstream.DecodeCursor(cursor, &c) != nil || c.Skip < 0 || c.Skip > upstream.MaxCursorOffset {
				t.Fatalf("graph accepted cursor %q", cursor)
			}
			if len(rec.urls) != 1 || !base.Contains(rec.urls[0]) || rec.urls[0].String() != mustParseURL(t, c.URL).String() {
				t.Fatalf("graph cursor %q fetched %v, want only its URL %q under the base", cursor, rec.urls, c.URL)
			}
			checkReencode(t, cursor, c)
		}

		rec.urls = nil
		_, err = x.ListIncidents(ctx, defender.ListQuery{PageSize: 10, Cursor: cursor})
		if err != nil {
			mustRefuseCursor(t, "xdr", err, rec.urls)
		} else {
			var c upstream.XDRCursor
			if upstream.DecodeCursor(cursor, &c) != nil || c.Skip < 0 || c.Skip > upstream.MaxCursorOffset {
				t.Fatalf("xdr accepted cursor %q", cursor)
			}
			if len(rec.urls) != 1 {
				t.Fatalf("xdr cursor %q made %d calls, want 1", cursor, len(rec.urls))
			}
			skip := rec.urls[0].Query().Get("$skip")
			if want := strconv.Itoa(c.Skip); skip != want && !(c.Skip == 0 && skip == "") {
				t.Fatalf("xdr cursor %q sent $skip=%q, want %s", cursor, skip, want)
			}
			checkReencode(t, cursor, c)
		}
	})
}

// mustRefuseCursor asserts err refuses a cursor before any upstream call.
func mustRefuseCursor(t *testing.T, backend string, err error, urls []*url.URL) {
	t.Helper()
	e, ok := defender.AsError(err)
	if !ok || e.Kind != defender.KindInvalidArgument || (e.Reason != defender.ReasonInvalidArgument && e.Reason != defender.ReasonUnsafeNextLink) {
		t.Fatalf("%s: cursor refused with %v, want an invalid-argument *Error", backend, err)
	}
	if len(urls) != 0 {
		t.Fatalf("%s: a refused cursor still called %v", backend, urls)
	}
}

// checkReencode asserts that an accepted cursor survives encoding again.
func checkReencode[C comparable](t *testing.T, cursor string, c C) {
	t.Helper()
	var again C
	if err := upstream.DecodeCursor(upstream.EncodeCursor(c), &again); err != nil || again != c {
		t.Fatalf("cursor %q decoded to %+v, re-encoded as %s, decoded again to %+v (%v)", cursor, c, upstream.EncodeCursor(c), again, err)
	}
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return u
}

// requestRecorder records the URL of each request and answers with an
// empty last page.
type requestRecorder struct{ urls []*url.URL }

func (r *requestRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.urls = append(r.urls, req.URL)
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {upstream.ContentJSON}},
		Body:    io.NopCloser(strings.NewReader(`{"value":[]}`)),
		Request: req,
	}, nil
}
