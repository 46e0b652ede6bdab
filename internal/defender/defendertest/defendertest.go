package defendertest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// Token is the bearer token of every test client; no error may show it.
const Token = "tok-SECRET-0x5eed-never-log"

var Tokens = defender.TokenSourceFunc(func(context.Context) (string, error) { return Token, nil })

// Recorder records the requests a test server receives.
type Recorder struct {
	mu   sync.Mutex
	reqs []RecordedRequest
}

type RecordedRequest struct {
	Method, Path, RawQuery string
	Query                  map[string][]string
	Header                 http.Header
	Body                   string
}

func (r *Recorder) record(req *http.Request) RecordedRequest {
	var body strings.Builder
	if req.Body != nil {
		_, _ = io.Copy(&body, req.Body)
	}
	rr := RecordedRequest{Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery,
		Query: req.URL.Query(), Header: req.Header.Clone(), Body: body.String()}
	r.mu.Lock()
	r.reqs = append(r.reqs, rr)
	r.mu.Unlock()
	return rr
}

func (r *Recorder) All() []RecordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RecordedRequest(nil), r.reqs...)
}

func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// NewServer starts an httptest server that records every request before
// handing it to h.
func NewServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, rr RecordedRequest)) (*httptest.Server, *Recorder) {
	t.Helper()
	rec := &Recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rr := rec.record(r)
		h(w, r, rr)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// MustError asserts err is an *Error of kind and reason, that its text
// never shows the token, and returns it.
func MustError(t *testing.T, err error, kind defender.ErrorKind, reason string) *defender.Error {
	t.Helper()
	e, ok := defender.AsError(err)
	if !ok {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if e.Kind != kind || e.Reason != reason {
		t.Fatalf("error kind/reason = %d/%s, want %d/%s (%v)", e.Kind, e.Reason, kind, reason, e)
	}
	if strings.Contains(e.Error(), Token) || strings.Contains(e.Message, Token) {
		t.Fatalf("error text shows the token: %v", e)
	}
	return e
}

func CompactJSON(t *testing.T, s string) string {
	t.Helper()
	if s == "" {
		return ""
	}
	var v json.RawMessage
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("body %q: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Drain lists every page with the page sizes taken in turn and returns the
// ids in order, checking each page is full unless it is the last.
func Drain(t *testing.T, b defender.Backend, q defender.ListQuery, sizes []int) []string {
	t.Helper()
	var ids []string
	for call := 0; ; call++ {
		if call > 1000 {
			t.Fatal("paging does not end")
		}
		q.PageSize = sizes[call%len(sizes)]
		page, err := b.ListIncidents(context.Background(), q)
		if err != nil {
			t.Fatalf("page %d: %v", call, err)
		}
		for _, inc := range page.Incidents {
			ids = append(ids, inc.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		if len(page.Incidents) != q.PageSize {
			t.Fatalf("page %d holds %d incidents, want %d (not the last page)", call, len(page.Incidents), q.PageSize)
		}
		q.Cursor = page.NextCursor
	}
}

// FilterFrom is the lower time bound of FullFilter, and an instant the
// filter cases use on their own.
var FilterFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// FullFilter sets statuses, a severity, an owner with a quote, a created
// range whose end has a fraction, and an updated lower bound.
func FullFilter() defender.IncidentFilter {
	return defender.IncidentFilter{
		Statuses:    []defender.IncidentStatus{defender.StatusActive, defender.StatusInProgress},
		Severities:  []defender.Severity{defender.SeverityHigh},
		AssignedTo:  "o'brien@contoso.com",
		CreatedFrom: FilterFrom, CreatedBefore: time.Date(2024, 2, 1, 0, 0, 0, 500_000_000, time.UTC),
		UpdatedFrom: FilterFrom,
	}
}

// FilterCase is one case of a backend's $filter builder: the $filter it
// builds of Filter, or the reason of its INVALID_ARGUMENT.
type FilterCase struct {
	Name       string
	Filter     defender.IncidentFilter
	Want       string
	WantReason string
}

// RunFilterCases runs build on each case as a subtest.
func RunFilterCases(t *testing.T, build func(defender.IncidentFilter) (string, error), cases []FilterCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			got, err := build(tt.Filter)
			if tt.WantReason != "" {
				MustError(t, err, defender.KindInvalidArgument, tt.WantReason)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.Want {
				t.Errorf("filter =\n %s\nwant\n %s", got, tt.Want)
			}
		})
	}
}
