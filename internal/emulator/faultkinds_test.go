package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// rawResponse is an answer whose body need not be JSON.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

func rawCall(t *testing.T, e *Emulator, method, rawURL, token string) (rawResponse, error) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := e.HTTPClient().Do(req)
	if err != nil {
		return rawResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawResponse{}, err
	}
	return rawResponse{resp.StatusCode, resp.Header, body}, nil
}

// tenantToken is an app token of the sandbox app in tenantID for resource.
func tenantToken(t *testing.T, e *Emulator, tenantID, resource string) string {
	t.Helper()
	status, body := postForm(t, e, "/"+tenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {identity.ClientID}, "client_secret": {identity.ClientSecret},
		"scope": {resource + "/.default"},
	})
	if status != http.StatusOK {
		t.Fatalf("app token in %s: %d %v", tenantID, status, body)
	}
	return "Bearer " + body["access_token"].(string)
}

func TestFaultKinds(t *testing.T) {
	e := startTest(t, Options{})
	graphToken := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	xdrToken := tenantToken(t, e, identity.HomeTenantID, identity.XDRResource)
	graphIncidents := e.GraphURL() + "/security/incidents"
	graphHunting := e.GraphURL() + "/security/runHuntingQuery"
	xdrIncidents := e.XDRURL() + "/api/incidents"
	xdrHunting := e.XDRURL() + "/api/advancedhunting/run"

	tests := []struct {
		name               string
		fault              Fault
		method, url, token string
		wantStatus         int
		wantRetryAfter     string
		wantCode           string // error.code; "" when the body is not an error
		wantMessage        string
	}{
		{name: "graph throttle with retry-after", fault: Throttle(APIGraph, "", 3*time.Second),
			url: graphIncidents, token: graphToken, wantStatus: 429, wantRetryAfter: "3", wantCode: "TooManyRequests"},
		{name: "xdr throttle without retry-after", fault: Throttle(APIXDR, identity.HomeTenantID, 0),
			url: xdrIncidents, token: xdrToken, wantStatus: 429, wantCode: "TooManyRequests"},
		{name: "xdr quota body", fault: XDRQuotaExceeded("", "/api/incidents", Window{Count: 45, Per: time.Minute}),
			url: xdrIncidents, token: xdrToken, wantStatus: 429, wantCode: "429",
			wantMessage: "API calls quota exceeded! maximum allowed 45 per 00:01:00"},
		{name: "graph hunting cpu quota", fault: HuntingCPUQuota(APIGraph, ""),
			method: http.MethodPost, url: graphHunting, token: graphToken, wantStatus: 429,
			wantCode: "TooManyRequests", wantMessage: HuntingCPUQuotaMessage},
		{name: "xdr hunting cpu quota", fault: HuntingCPUQuota(APIXDR, identity.HomeTenantID),
			method: http.MethodPost, url: xdrHunting, token: xdrToken, wantStatus: 429,
			wantCode: "TooManyRequests", wantMessage: HuntingCPUQuotaMessage},
		{name: "graph hunting timeout", fault: HuntingTimeout(APIGraph, ""),
			method: http.MethodPost, url: graphHunting, token: graphToken, wantStatus: 400,
			wantCode: "BadRequest", wantMessage: HuntingTimeoutMessage},
		{name: "xdr hunting timeout", fault: HuntingTimeout(APIXDR, identity.HomeTenantID),
			method: http.MethodPost, url: xdrHunting, token: xdrToken, wantStatus: 400,
			wantCode: "BadRequest", wantMessage: HuntingTimeoutMessage},
		{name: "timeout spares other routes", fault: HuntingTimeout(APIXDR, ""),
			url: xdrIncidents, token: xdrToken, wantStatus: 200},
		{name: "cpu quota spares other routes", fault: HuntingCPUQuota(APIGraph, ""),
			url: graphIncidents, token: graphToken, wantStatus: 200},
		{name: "graph 500", fault: ServerError(APIGraph, "", "", 500),
			url: graphIncidents, token: graphToken, wantStatus: 500, wantCode: "InternalServerError"},
		{name: "xdr 503", fault: ServerError(APIXDR, "", "/api/incidents", 503),
			url: xdrIncidents, token: xdrToken, wantStatus: 503, wantCode: "ServiceUnavailable"},
		{name: "graph 504", fault: ServerError(APIGraph, identity.HomeTenantID, "/v1.0/security", 504),
			url: graphIncidents, token: graphToken, wantStatus: 504, wantCode: "GatewayTimeout"},
		{name: "tenant fault spares other tenants", fault: ServerError(APIGraph, identity.SecondTenantID, "", 500),
			url: graphIncidents, token: graphToken, wantStatus: 200},
		{name: "tenant fault needs a valid token", fault: ServerError(APIXDR, identity.HomeTenantID, "", 500),
			url: xdrIncidents, token: "Bearer not-a-token", wantStatus: 401, wantCode: "Unauthorized"},
		{name: "token outage", fault: TokenOutage(identity.HomeTenantID, 503),
			method: http.MethodPost, url: e.AuthorityHost() + "/" + identity.HomeTenantDomain + "/oauth2/v2.0/token",
			wantStatus: 503},
		{name: "token outage spares discovery", fault: TokenOutage("", 503),
			url:        e.AuthorityHost() + "/" + identity.HomeTenantID + "/v2.0/.well-known/openid-configuration",
			wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remove := e.InjectFault(tt.fault)
			defer remove()
			method := cmpOr(tt.method, http.MethodGet)
			resp, err := rawCall(t, e, method, tt.url, tt.token)
			if err != nil {
				t.Fatal(err)
			}
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.status, tt.wantStatus, resp.body)
			}
			if got := resp.header.Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			if tt.wantCode == "" {
				return
			}
			var body struct {
				Error struct{ Code, Message, Target string }
			}
			if err := json.Unmarshal(resp.body, &body); err != nil {
				t.Fatalf("body %s: %v", resp.body, err)
			}
			if body.Error.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", body.Error.Code, tt.wantCode)
			}
			if tt.wantMessage != "" && body.Error.Message != tt.wantMessage {
				t.Errorf("message = %q, want %q", body.Error.Message, tt.wantMessage)
			}
			if tt.fault.API == APIXDR && body.Error.Target == "" {
				t.Errorf("XDR error without target: %s", resp.body)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestBrokenBodies(t *testing.T) {
	e := startTest(t, Options{})
	token := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	url := e.GraphURL() + "/security/incidents"
	whole, err := rawCall(t, e, http.MethodGet, url, token)
	if err != nil || whole.status != 200 {
		t.Fatalf("healthy call: %v %d", err, whole.status)
	}

	t.Run("truncated", func(t *testing.T) {
		defer e.InjectFault(Truncated(APIGraph, identity.HomeTenantID, "/v1.0/security/incidents"))()
		resp, err := rawCall(t, e, http.MethodGet, url, token)
		if err != nil {
			t.Fatal(err)
		}
		if resp.status != http.StatusOK {
			t.Errorf("status = %d, want 200", resp.status)
		}
		if got, want := resp.header.Get("Content-Length"), strconv.Itoa(len(resp.body)); got != want {
			t.Errorf("Content-Length = %s, want %s", got, want)
		}
		if len(resp.body) == 0 || len(resp.body) >= len(whole.body) || !strings.HasPrefix(string(whole.body), string(resp.body)) {
			t.Errorf("body %q is not a proper start of %q", resp.body, whole.body)
		}
		if json.Valid(resp.body) {
			t.Errorf("truncated body is valid JSON: %s", resp.body)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		defer e.InjectFault(Malformed(APIGraph, "", ""))()
		resp, err := rawCall(t, e, http.MethodGet, url, token)
		if err != nil {
			t.Fatal(err)
		}
		if resp.status != http.StatusOK || !strings.HasPrefix(resp.header.Get("Content-Type"), "application/json") {
			t.Errorf("status %d, Content-Type %q; want 200 application/json", resp.status, resp.header.Get("Content-Type"))
		}
		if len(resp.body) == 0 || json.Valid(resp.body) || resp.body[0] == '{' {
			t.Errorf("body %q should not be JSON at all", resp.body)
		}
	})
	t.Run("token endpoint reset", func(t *testing.T) {
		defer e.InjectFault(TokenOutage("", 0))()
		_, err := rawCall(t, e, http.MethodPost, e.AuthorityHost()+"/"+identity.HomeTenantID+"/oauth2/v2.0/token", "")
		if err == nil {
			t.Fatal("token request answered, want a reset connection")
		}
	})
}
