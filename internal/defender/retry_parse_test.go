package defender

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestParseQuotaWindow(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"API calls quota exceeded! maximum allowed 45 per 00:01:00", time.Minute},
		{"API calls quota exceeded! maximum allowed 1500 per 01:00:00", time.Hour},
		{"maximum allowed 100 PER 00:00:10.", 10 * time.Second},
		{"maximum allowed 5 per 24:00:00", time.Hour}, // clamped to maxRetryAfter
		{"maximum allowed 5 per 00:61:00", 0},         // not a time
		{"maximum allowed 5 per 1:2:3", 0},
		{"per 00:01", 0},
		{"quota", 0},
		{"", 0},
		{"per 00:00:00", 0},
		{"per 999999:00:00", 0},
	}
	for _, tt := range tests {
		if got := parseQuotaWindow(tt.in); got != tt.want {
			t.Errorf("parseQuotaWindow(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseQuotaWindow(f *testing.F) {
	f.Add("maximum allowed 45 per 00:01:00")
	f.Add("per 99:59:59")
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseQuotaWindow(s); d < 0 || d > maxRetryAfter {
			t.Fatalf("parseQuotaWindow(%q) = %v, outside [0, %v]", s, d, maxRetryAfter)
		}
	})
}

func TestBackoffFullJitterBounds(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, BaseDelay: 200 * time.Millisecond, MaxDelay: time.Second}
	top := func(n int64) int64 { return n - 1 }
	zero := func(int64) int64 { return 0 }
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i, w := range want {
		if got := p.backoff(i+1, top); got != w {
			t.Errorf("backoff(%d) ceiling = %v, want %v", i+1, got, w)
		}
		if got := p.backoff(i+1, zero); got != 0 {
			t.Errorf("backoff(%d) floor = %v, want 0", i+1, got)
		}
	}
	if got := (RetryPolicy{}).backoff(3, top); got != 0 {
		t.Errorf("zero policy backoff = %v, want 0", got)
	}
}

func TestIsCPUQuotaMessage(t *testing.T) {
	for in, want := range map[string]bool{
		"The query exceeded the allocated CPU resources quota": true,
		"You have exceeded your resources limit, try later":    true,
		"Query could not be parsed":                            false,
		"quota exceeded! maximum allowed 45 per 00:01:00":      false,
	} {
		if got := isCPUQuotaMessage(in); got != want {
			t.Errorf("isCPUQuotaMessage(%q) = %v, want %v", in, got, want)
		}
	}
}

// The caller's deadline reaches the upstream request: the server sees its
// request canceled when the deadline passes.
func TestCallerDeadlinePropagates(t *testing.T) {
	canceled := make(chan struct{})
	srv, _ := newServer(t, func(_ http.ResponseWriter, r *http.Request, _ recordedRequest) {
		<-r.Context().Done()
		close(canceled)
	})
	b, _ := retryingBackend(t, BackendGraph, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := b.GetIncident(ctx, "7", false)
	mustError(t, err, KindDeadlineExceeded, ReasonDeadlineExceeded)
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not canceled at the caller's deadline")
	}
}

// The client's Timeout bounds each attempt of a read, but a hunting query
// gets HuntingRequestTimeout.
func TestHuntingIsNotCutByTheRequestTimeout(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, _ recordedRequest) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		if r.Method == http.MethodPost {
			writeJSON(w, 200, map[string]any{"results": []any{}})
			return
		}
		writeJSON(w, 200, map[string]any{"id": "7"})
	})
	b, err := NewGraph(ClientOptions{BaseURL: srv.URL, HTTPClient: &http.Client{Timeout: 50 * time.Millisecond},
		Tokens: testTokens, HuntingRequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.RunHuntingQuery(context.Background(), HuntingQuery{Query: "T"}); err != nil {
		t.Errorf("hunting: %v, want success past the 50ms request timeout", err)
	}
	_, err = b.GetIncident(context.Background(), "7", false)
	mustError(t, err, KindUnavailable, ReasonUnavailable)
}
