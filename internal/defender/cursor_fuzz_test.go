package defender

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzCursor resumes a listing on both clients from an arbitrary cursor.
// A cursor is either refused with INVALID_ARGUMENT before any upstream
// call, or it is resumed exactly where it says: Graph fetches the cursor's
// URL, which is under the API base, and skips at most maxCursorOffset
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
	g, err := NewGraph(ClientOptions{BaseURL: "https://graph.fuzz.test/v1.0", HTTPClient: client, Tokens: testTokens})
	if err != nil {
		f.Fatal(err)
	}
	x, err := NewXDR(ClientOptions{BaseURL: "https://xdr.fuzz.test", HTTPClient: client, Tokens: testTokens})
	if err != nil {
		f.Fatal(err)
	}
	base, err := parseAPIBase("https://graph.fuzz.test/v1.0")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		if cursor == "" {
			return // a first page, not a cursor
		}
		ctx := context.Background()

		rec.urls = nil
		_, err := g.ListIncidents(ctx, ListQuery{PageSize: 10, Cursor: cursor})
		if err != nil {
			mustRefuseCursor(t, "graph", err, rec.urls)
		} else {
			var c graphCursor
			if decodeCursor(cursor, &c) != nil || c.Skip < 0 || c.Skip > maxCursorOffset {
				t.Fatalf("graph accepted cursor %q", cursor)
			}
			if len(rec.urls) != 1 || !base.contains(rec.urls[0]) || rec.urls[0].String() != mustParseURL(t, c.URL).String() {
				t.Fatalf("graph cursor %q fetched %v, want only its URL %q under the base", cursor, rec.urls, c.URL)
			}
			checkReencode(t, cursor, c)
		}

		rec.urls = nil
		_, err = x.ListIncidents(ctx, ListQuery{PageSize: 10, Cursor: cursor})
		if err != nil {
			mustRefuseCursor(t, "xdr", err, rec.urls)
		} else {
			var c xdrCursor
			if decodeCursor(cursor, &c) != nil || c.Skip < 0 || c.Skip > maxCursorOffset {
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
	e, ok := AsError(err)
	if !ok || e.Kind != KindInvalidArgument || (e.Reason != ReasonInvalidArgument && e.Reason != ReasonUnsafeNextLink) {
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
	if err := decodeCursor(encodeCursor(c), &again); err != nil || again != c {
		t.Fatalf("cursor %q decoded to %+v, re-encoded as %s, decoded again to %+v (%v)", cursor, c, encodeCursor(c), again, err)
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
		Header:  http.Header{"Content-Type": {contentJSON}},
		Body:    io.NopCloser(strings.NewReader(`{"value":[]}`)),
		Request: req,
	}, nil
}
