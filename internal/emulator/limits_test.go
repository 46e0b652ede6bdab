package emulator

import (
	"net/http"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		api, method, path, want string
	}{
		{APIXDR, "GET", "/api/incidents", RouteIncidentList},
		{APIXDR, "GET", "/api/incidents/7", RouteIncidentGet},
		{APIXDR, "PATCH", "/api/incidents/7", RouteIncidentWrite},
		{APIXDR, "POST", "/api/advancedhunting/run", RouteHunting},
		{APIXDR, "DELETE", "/api/incidents/7", ""},
		{APIXDR, "GET", "/api/alerts", ""},
		{APIGraph, "GET", "/v1.0/security/incidents", RouteIncidentList},
		{APIGraph, "GET", "/v1.0/security/incidents/7", RouteIncidentGet},
		{APIGraph, "PATCH", "/v1.0/security/incidents/7", RouteIncidentWrite},
		{APIGraph, "POST", "/v1.0/security/incidents/7/comments", RouteIncidentWrite},
		{APIGraph, "POST", "/v1.0/security/runHuntingQuery", RouteHunting},
		{APIGraph, "GET", "/v1.0/security/alerts_v2", RouteAlertList},
		{APIGraph, "GET", "/v1.0/security/alerts_v2/da1_-2", RouteAlertGet},
		{APIGraph, "PATCH", "/v1.0/security/alerts_v2/da1_-2", RouteAlertWrite},
		{APIGraph, "POST", "/v1.0/security/alerts_v2/da1_-2/comments", RouteAlertWrite},
		{APIGraph, "DELETE", "/v1.0/security/alerts_v2/da1_-2", ""},
		{APIGraph, "POST", "/v1.0/security/alerts_v2", ""},
		{APIGraph, "GET", "/v1.0/security/alerts_v2x", ""},
		{APIGraph, "GET", "/v1.0/security/alerts", ""},
		{APIEntra, "POST", "/x/oauth2/v2.0/token", ""},
	}
	for _, tt := range tests {
		if got := classify(tt.api, tt.method, tt.path); got != tt.want {
			t.Errorf("classify(%s, %s, %s) = %q, want %q", tt.api, tt.method, tt.path, got, tt.want)
		}
	}
}

func TestDocumentedLimits(t *testing.T) {
	l := DocumentedLimits()
	minute := func(ws []Window) int {
		for _, w := range ws {
			if w.Per == time.Minute {
				return w.Count
			}
		}
		return 0
	}
	tests := []struct {
		name string
		ws   []Window
		want int
	}{
		{"xdr list", l.XDR.Routes[RouteIncidentList], 50},
		{"xdr get", l.XDR.Routes[RouteIncidentGet], 100},
		{"xdr write", l.XDR.Routes[RouteIncidentWrite], 50},
		{"xdr hunting", l.XDR.Routes[RouteHunting], 45},
		{"xdr whole", l.XDR.WholeAPI, 50},
		{"graph hunting", l.Graph.Routes[RouteHunting], 45},
		{"graph get", l.Graph.Routes[RouteIncidentGet], 50},
		{"graph alert list", l.Graph.Routes[RouteAlertList], 50},
		{"graph alert get", l.Graph.Routes[RouteAlertGet], 50},
		{"graph alert write", l.Graph.Routes[RouteAlertWrite], 50},
		{"graph whole", l.Graph.WholeAPI, 150},
	}
	for _, tt := range tests {
		if got := minute(tt.ws); got != tt.want {
			t.Errorf("%s: per minute %d, want %d", tt.name, got, tt.want)
		}
	}
	for route, ws := range l.XDR.Routes {
		if len(ws) != 2 || ws[1] != (Window{Count: 1500, Per: time.Hour}) {
			t.Errorf("xdr %s: windows %v, want an hourly 1500", route, ws)
		}
	}
}

// limitedEmulator starts an emulator with small limits on a test clock.
func limitedEmulator(t *testing.T, l Limits) (*Emulator, *testClock) {
	clock := newTestClock()
	return startTest(t, Options{Now: clock.Now, Limits: &l}), clock
}

func TestXDRSlidingWindow(t *testing.T) {
	e, clock := limitedEmulator(t, Limits{XDR: APILimits{
		Routes:   map[string][]Window{RouteIncidentList: {{Count: 3, Per: 2 * time.Second}}},
		WholeAPI: []Window{{Count: 100, Per: time.Hour}},
	}})
	home := tenantToken(t, e, identity.HomeTenantID, identity.XDRResource)
	second := tenantToken(t, e, identity.SecondTenantID, identity.XDRResource)
	url := e.XDRURL() + "/api/incidents"
	status := func(token string) int { return call(t, e, http.MethodGet, url, token).status }

	// Accepted at 0, 0.5s and 1s; the window (now-2s, now] is then full.
	for i := range 3 {
		if got := status(home); got != 200 {
			t.Fatalf("call %d: %d, want 200", i, got)
		}
		clock.Advance(500 * time.Millisecond)
	}
	resp := call(t, e, http.MethodGet, url, home) // at 1.5s
	if resp.status != 429 || resp.header.Get("Retry-After") != "" {
		t.Fatalf("4th call: %d, Retry-After %q; want 429 without one", resp.status, resp.header.Get("Retry-After"))
	}
	inner, _ := resp.body["error"].(map[string]any)
	if inner["code"] != "429" || inner["message"] != "API calls quota exceeded! maximum allowed 3 per 00:00:02" {
		t.Errorf("refusal body %v", resp.body)
	}
	if got := status(second); got != 200 {
		t.Errorf("other tenant: %d, want 200 (limits are per tenant)", got)
	}
	clock.Advance(400 * time.Millisecond) // 1.9s: the call at 0 is still inside
	if got := status(home); got != 429 {
		t.Errorf("at 1.9s: %d, want 429", got)
	}
	clock.Advance(100 * time.Millisecond) // 2s: the call at 0 left (now-2s is excluded)
	if got := status(home); got != 200 {
		t.Errorf("at 2s: %d, want 200 (refusals do not count)", got)
	}
	if got := status(home); got != 429 {
		t.Errorf("again at 2s: %d, want 429", got)
	}

	s := e.RouteStat(APIXDR, identity.HomeTenantID, RouteIncidentList)
	if s.Accepted != 4 || s.Limited != 3 || s.Faulted429 != 0 {
		t.Errorf("stats %+v, want 4 accepted, 3 limited", s)
	}
	if len(s.Windows) != 1 || s.Windows[0].MaxAccepted != 3 {
		t.Errorf("windows %+v, want a peak of 3", s.Windows)
	}
	if whole := e.RouteStat(APIXDR, identity.HomeTenantID, RouteWholeAPI); whole.Accepted != 4 || whole.Windows[0].MaxAccepted != 4 {
		t.Errorf("whole API %+v, want 4 accepted, peak 4", whole)
	}
}

func TestWholeAPILimit(t *testing.T) {
	e, _ := limitedEmulator(t, Limits{XDR: APILimits{WholeAPI: []Window{{Count: 2, Per: time.Hour}}}})
	token := tenantToken(t, e, identity.HomeTenantID, identity.XDRResource)
	if got := call(t, e, http.MethodGet, e.XDRURL()+"/api/incidents", token).status; got != 200 {
		t.Fatalf("list: %d", got)
	}
	if got := call(t, e, http.MethodGet, e.XDRURL()+"/api/incidents/1", token).status; got != 200 {
		t.Fatalf("get: %d", got)
	}
	resp := call(t, e, http.MethodPost, e.XDRURL()+"/api/advancedhunting/run", token)
	inner, _ := resp.body["error"].(map[string]any)
	if resp.status != 429 || inner["message"] != "API calls quota exceeded! maximum allowed 2 per 01:00:00" {
		t.Errorf("hunting: %d %v, want the whole API's 429", resp.status, resp.body)
	}
	if s := e.RouteStat(APIXDR, identity.HomeTenantID, RouteHunting); s.Limited != 1 || s.Accepted != 0 {
		t.Errorf("hunting stats %+v", s)
	}
}

func TestGraphRetryAfter(t *testing.T) {
	e, clock := limitedEmulator(t, Limits{Graph: APILimits{
		Routes: map[string][]Window{RouteIncidentGet: {{Count: 2, Per: 10 * time.Second}}},
	}})
	token := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	url := e.GraphURL() + "/security/incidents/1"
	call(t, e, http.MethodGet, url, token)
	clock.Advance(1200 * time.Millisecond)
	call(t, e, http.MethodGet, url, token)
	clock.Advance(300 * time.Millisecond) // 1.5s: the first frees its slot in 8.5s
	resp := call(t, e, http.MethodGet, url, token)
	if resp.status != 429 || errorCode(resp.body) != "TooManyRequests" {
		t.Fatalf("3rd call: %d %v, want 429 TooManyRequests", resp.status, resp.body)
	}
	if got := resp.header.Get("Retry-After"); got != "9" {
		t.Errorf("Retry-After = %q, want 9 (8.5s rounded up)", got)
	}
	// The list route has no limit of its own here.
	if got := call(t, e, http.MethodGet, e.GraphURL()+"/security/incidents", token).status; got != 200 {
		t.Errorf("list: %d, want 200", got)
	}
}

func TestObserveOnlyAndFaultStats(t *testing.T) {
	e, _ := limitedEmulator(t, Limits{ObserveOnly: true, Graph: APILimits{
		Routes: map[string][]Window{RouteIncidentList: {{Count: 1, Per: time.Minute}}},
	}})
	token := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	url := e.GraphURL() + "/security/incidents"
	for range 3 {
		if got := call(t, e, http.MethodGet, url, token).status; got != 200 {
			t.Fatalf("observe-only refused: %d", got)
		}
	}
	remove := e.InjectFault(Throttle(APIGraph, identity.HomeTenantID, time.Second))
	call(t, e, http.MethodGet, url, token)
	remove()
	s := e.RouteStat(APIGraph, identity.HomeTenantID, RouteIncidentList)
	if s.Accepted != 3 || s.Limited != 0 || s.Faulted429 != 1 || s.Throttled() != 1 {
		t.Errorf("stats %+v, want 3 accepted, 1 faulted 429", s)
	}
	if len(s.Windows) != 1 || s.Windows[0].MaxAccepted != 3 {
		t.Errorf("windows %+v, want a peak of 3 over a limit of 1", s.Windows)
	}
	e.ResetStats()
	if got := e.Stats(); len(got) != 0 {
		t.Errorf("after ResetStats: %+v", got)
	}
}
