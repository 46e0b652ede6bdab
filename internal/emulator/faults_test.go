package emulator

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestFaultResponses(t *testing.T) {
	e := startTest(t, Options{})
	token := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.GraphResource)
	graphURL := e.GraphURL() + "/security/incidents"
	keysURL := e.AuthorityHost() + "/" + identity.HomeTenantID + "/discovery/v2.0/keys"

	tests := []struct {
		name           string
		fault          Fault
		method, url    string
		wantStatus     int
		wantCode       string // Graph/XDR error.code or Entra error
		wantMessage    string // Graph/XDR error.message or Entra error_description
		wantRetryAfter string
	}{
		{
			name:  "graph 429 with retry-after",
			fault: Fault{API: APIGraph, Status: 429, RetryAfter: 2 * time.Second},
			url:   graphURL, wantStatus: 429, wantCode: "TooManyRequests", wantRetryAfter: "2",
		},
		{
			name:  "xdr custom code and message, no token needed",
			fault: Fault{API: APIXDR, Method: http.MethodGet, PathPrefix: "/api/incidents", Status: 503, Code: "ServiceUnavailable", Message: "down"},
			url:   e.XDRURL() + "/api/incidents/7", wantStatus: 503, wantCode: "ServiceUnavailable", wantMessage: "down",
		},
		{
			name:  "xdr 401 default code",
			fault: Fault{API: APIXDR, Status: 401},
			url:   e.XDRURL() + "/api/incidents", wantStatus: 401, wantCode: "Unauthorized",
		},
		{
			name:  "entra 500 in entra shape",
			fault: Fault{API: APIEntra, Status: 500},
			url:   keysURL, wantStatus: 500, wantCode: "temporarily_unavailable",
			wantMessage: "AADSTS90033: A transient error has occurred. Please try again.",
		},
		{
			name:  "other method passes through",
			fault: Fault{API: APIGraph, Method: http.MethodPatch, Status: 500},
			url:   graphURL, wantStatus: 200,
		},
		{
			name:  "other path passes through",
			fault: Fault{API: APIGraph, PathPrefix: "/v1.0/security/alerts_v2", Status: 500},
			url:   graphURL, wantStatus: 200,
		},
		{
			name:  "other api passes through",
			fault: Fault{API: APIXDR, Status: 500},
			url:   graphURL, wantStatus: 200,
		},
		{
			name:  "invalid status becomes 500",
			fault: Fault{API: APIGraph, Status: 42},
			url:   graphURL, wantStatus: 500, wantCode: "InternalServerError",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remove := e.InjectFault(tt.fault)
			defer remove()
			resp := call(t, e, http.MethodGet, tt.url, token)
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %v", resp.status, tt.wantStatus, resp.body)
			}
			if got := resp.header.Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			if tt.wantStatus == http.StatusOK {
				return
			}
			code, message := errorCode(resp.body), ""
			if inner, ok := resp.body["error"].(map[string]any); ok {
				message, _ = inner["message"].(string)
			}
			if tt.fault.API == APIEntra {
				code, _ = resp.body["error"].(string)
				message, _ = resp.body["error_description"].(string)
			}
			if code != tt.wantCode {
				t.Errorf("code = %q, want %q; body %v", code, tt.wantCode, resp.body)
			}
			if tt.wantMessage != "" && message != tt.wantMessage {
				t.Errorf("message = %q, want %q", message, tt.wantMessage)
			}
			if message == "" {
				t.Errorf("empty message; body %v", resp.body)
			}
		})
	}
}

func TestFaultLifetime(t *testing.T) {
	e := startTest(t, Options{})
	token := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.XDRResource)
	url := e.XDRURL() + "/api/incidents"
	statuses := func(n int) []int {
		var got []int
		for range n {
			got = append(got, call(t, e, http.MethodGet, url, token).status)
		}
		return got
	}
	tests := []struct {
		name  string
		setup func() // injects faults
		calls int
		want  []int
	}{
		{"times counts down", func() { e.InjectFault(Fault{API: APIXDR, Status: 503, Times: 2}) }, 3, []int{503, 503, 200}},
		{"until removed", func() { e.InjectFault(Fault{API: APIXDR, Status: 500}) }, 3, []int{500, 500, 500}},
		{"removed", func() { e.InjectFault(Fault{API: APIXDR, Status: 500})() }, 2, []int{200, 200}},
		{"first match wins, then the next", func() {
			e.InjectFault(Fault{API: APIXDR, Status: 429, Times: 1})
			e.InjectFault(Fault{API: APIXDR, Status: 503, Times: 1})
		}, 3, []int{429, 503, 200}},
		{"remove after use is harmless", func() {
			remove := e.InjectFault(Fault{API: APIXDR, Status: 502, Times: 1})
			e.InjectFault(Fault{API: APIXDR, Status: 504, Times: 1})
			statuses(1)
			remove()
		}, 2, []int{504, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.ClearFaults()
			tt.setup()
			got := statuses(tt.calls)
			if len(got) != len(tt.want) {
				t.Fatalf("statuses = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("statuses = %v, want %v", got, tt.want)
				}
			}
		})
	}
	e.ClearFaults()
	if got := call(t, e, http.MethodGet, url, token).status; got != http.StatusOK {
		t.Errorf("after ClearFaults status = %d", got)
	}
}

func TestFaultResetAndDelay(t *testing.T) {
	e := startTest(t, Options{})
	keysURL := e.AuthorityHost() + "/" + identity.HomeTenantID + "/discovery/v2.0/keys"
	get := func(ctx context.Context) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, keysURL, nil)
		if err != nil {
			return 0, err
		}
		resp, err := e.HTTPClient().Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		return resp.StatusCode, nil
	}

	t.Run("reset closes the connection", func(t *testing.T) {
		defer e.InjectFault(Fault{API: APIEntra, Reset: true, Times: 1})()
		if status, err := get(context.Background()); err == nil {
			t.Fatalf("got status %d, want a connection error", status)
		}
		if status, err := get(context.Background()); err != nil || status != http.StatusOK {
			t.Fatalf("after reset: %d, %v", status, err)
		}
	})

	t.Run("delay then status", func(t *testing.T) {
		defer e.InjectFault(Fault{API: APIEntra, Status: 503, Delay: 100 * time.Millisecond})()
		start := time.Now()
		status, err := get(context.Background())
		if err != nil || status != http.StatusServiceUnavailable {
			t.Fatalf("got %d, %v; want 503", status, err)
		}
		if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
			t.Errorf("answered after %v, want at least the delay", elapsed)
		}
	})

	t.Run("delay alone slows a normal answer", func(t *testing.T) {
		defer e.InjectFault(Fault{API: APIEntra, Delay: 100 * time.Millisecond})()
		start := time.Now()
		status, err := get(context.Background())
		if err != nil || status != http.StatusOK {
			t.Fatalf("got %d, %v; want 200", status, err)
		}
		if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
			t.Errorf("answered after %v, want at least the delay", elapsed)
		}
	})

	t.Run("delay honours cancellation", func(t *testing.T) {
		defer e.InjectFault(Fault{API: APIEntra, Status: 500, Delay: time.Minute})()
		e.ResetRequests()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := get(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
		// The server side must give up too: the request is logged, unanswered.
		deadline := time.Now().Add(5 * time.Second)
		for len(e.Requests()) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		reqs := e.Requests()
		if len(reqs) != 1 || reqs[0].Status != 0 {
			t.Fatalf("requests = %+v, want one with status 0", reqs)
		}
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Errorf("server held the request %v", elapsed)
		}
	})
}
