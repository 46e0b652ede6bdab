package emulator

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// countingAPIs stand in for the fake APIs: every request is "applied"
// (counted) and answered 201 with the count so far.
func countingAPIs(applied *atomic.Int64) func(time.Time) (graph, xdr http.Handler) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := applied.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Applied", "yes")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]int64{"applied": n})
	})
	return func(time.Time) (http.Handler, http.Handler) { return h, h }
}

func TestFaultAfterHandler(t *testing.T) {
	var applied atomic.Int64
	e, err := Start(Options{apis: countingAPIs(&applied)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	token := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.GraphResource)
	commentsPath := "/v1.0/security/incidents/1000/comments"
	post := func() (*http.Response, []byte, error) {
		req, err := http.NewRequest(http.MethodPost, e.GraphURL()+"/security/incidents/1000/comments", strings.NewReader(`{"comment":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", token)
		resp, err := e.HTTPClient().Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}

	tests := []struct {
		name        string
		fault       Fault
		wantApplied int64
		wantErr     bool // a connection error, no answer
		wantStatus  int
		wantBody    string // a fragment of the answer's body
		wantLogged  int    // the status in the request log
		minDuration time.Duration
		unmatched   bool // the fault does not apply
	}{
		{name: "apply then reset", fault: ApplyThenFail(APIGraph, "", http.MethodPost, commentsPath, 0),
			wantApplied: 1, wantErr: true, wantLogged: 0},
		{name: "apply then 504", fault: ApplyThenFail(APIGraph, identity.HomeTenantID, http.MethodPost, commentsPath, http.StatusGatewayTimeout),
			wantApplied: 1, wantStatus: 504, wantBody: `"GatewayTimeout"`, wantLogged: 504},
		{name: "504 before the handler is not applied", fault: ServerError(APIGraph, "", commentsPath, http.StatusGatewayTimeout),
			wantApplied: 0, wantStatus: 504, wantBody: `"GatewayTimeout"`, wantLogged: 504},
		{name: "reset before the handler is not applied", fault: ConnectionReset(APIGraph, "", commentsPath),
			wantApplied: 0, wantErr: true, wantLogged: 0},
		{name: "apply then a slow real answer", fault: Fault{API: APIGraph, AfterHandler: true, Delay: 50 * time.Millisecond},
			wantApplied: 1, wantStatus: 201, wantBody: `"applied"`, wantLogged: 201, minDuration: 50 * time.Millisecond},
		{name: "apply then malformed", fault: Fault{API: APIGraph, AfterHandler: true, Malformed: true},
			wantApplied: 1, wantStatus: 200, wantBody: "<html>", wantLogged: 200},
		{name: "truncate serves once", fault: Fault{API: APIGraph, AfterHandler: true, Truncate: true},
			wantApplied: 1, wantStatus: 201, wantLogged: 201},
		{name: "other method passes through", fault: ApplyThenFail(APIGraph, "", http.MethodPatch, commentsPath, 0),
			wantApplied: 1, wantStatus: 201, wantBody: `"applied"`, wantLogged: 201, unmatched: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.fault
			f.Times = 1
			defer e.InjectFault(f)()
			e.ResetRequests()
			before := applied.Load()
			start := time.Now()
			resp, body, err := post()
			elapsed := time.Since(start)
			if got := applied.Load() - before; got != tt.wantApplied {
				t.Errorf("applied %d times, want %d", got, tt.wantApplied)
			}
			switch {
			case tt.wantErr && err == nil:
				t.Fatalf("got status %d, want a connection error", resp.StatusCode)
			case !tt.wantErr && err != nil:
				t.Fatalf("got %v, want status %d", err, tt.wantStatus)
			case !tt.wantErr:
				if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
					t.Errorf("answer = %d %s, want %d with %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
				}
				if tt.wantStatus == http.StatusCreated && resp.Header.Get("X-Applied") != "yes" {
					t.Errorf("the handler's headers were not replayed: %v", resp.Header)
				}
			}
			if elapsed < tt.minDuration {
				t.Errorf("answered after %v, want at least %v", elapsed, tt.minDuration)
			}
			// The server logs the request once it returns, which a reset
			// client may see first.
			deadline := time.Now().Add(5 * time.Second)
			for len(e.Requests()) == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if reqs := e.Requests(); len(reqs) != 1 || reqs[0].Status != tt.wantLogged {
				t.Errorf("request log = %+v, want one request with status %d", reqs, tt.wantLogged)
			}
			if !tt.unmatched && len(e.Faults()) != 0 {
				t.Errorf("the fault outlived its one request: %+v", e.Faults())
			}
		})
	}
}

func TestControlAfterHandler(t *testing.T) {
	e := startTest(t, Options{})
	srv := httptest.NewServer(e.ControlHandler("/ctl/"))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/ctl/faults", "application/json",
		strings.NewReader(`{"api":"xdr","method":"PATCH","pathPrefix":"/api/incidents/","afterHandler":true,"reset":true,"times":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add: %d", resp.StatusCode)
	}
	faults := e.Faults()
	if len(faults) != 1 || !faults[0].Fault.AfterHandler || !faults[0].Fault.Reset {
		t.Fatalf("faults = %+v, want one AfterHandler reset", faults)
	}
	if fj := faultToJSON(faults[0].Fault); !fj.AfterHandler {
		t.Errorf("listed as %+v, want afterHandler", fj)
	}
}

// TestFaultDelayWithBodyHonoursCancellation: a delayed request with a
// body (a POST or PATCH) is given up as soon as its client goes away, like
// a GET: the server watches the connection only once the body is read.
func TestFaultDelayWithBodyHonoursCancellation(t *testing.T) {
	e := startTest(t, Options{})
	defer e.InjectFault(Fault{API: APIGraph, Delay: time.Minute})()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.GraphURL()+"/security/runHuntingQuery", strings.NewReader(`{"query":"AlertInfo"}`))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if resp, err := e.HTTPClient().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d, want the client's deadline", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if reqs := e.Requests(); len(reqs) != 1 || reqs[0].Status != 0 {
		t.Fatalf("requests = %+v after %v, want one unanswered request logged", reqs, time.Since(start))
	}
}
