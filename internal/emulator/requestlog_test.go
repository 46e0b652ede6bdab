package emulator

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestRequestLog(t *testing.T) {
	clock := newTestClock()
	e := startTest(t, Options{Now: clock.Now})
	token := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.GraphResource)
	xdrToken := "Bearer " + fetchToken(t, e, identity.ClientID, identity.ClientSecret, identity.XDRResource)
	if got := e.TokenRequests(); got != 2 {
		t.Errorf("TokenRequests = %d, want 2", got)
	}
	e.ResetRequests()
	if got := e.TokenRequests(); got != 0 {
		t.Errorf("TokenRequests after reset = %d, want 0", got)
	}

	clock.Advance(time.Minute)
	call(t, e, http.MethodGet, e.GraphURL()+"/security/incidents?$top=5", token)
	call(t, e, http.MethodGet, e.XDRURL()+"/api/incidents", "")
	call(t, e, http.MethodGet, e.XDRURL()+"/api/incidents", xdrToken)
	call(t, e, http.MethodGet, e.AuthorityHost()+"/"+identity.HomeTenantDomain+"/v2.0/.well-known/openid-configuration", "")
	call(t, e, http.MethodGet, e.AuthorityHost()+"/unknown.example/v2.0/.well-known/openid-configuration", "")
	form := url.Values{"grant_type": {"client_credentials"}}
	resp, err := e.HTTPClient().Post(e.AuthorityHost()+"/"+identity.SecondTenantDomain+"/oauth2/v2.0/token",
		"application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	want := []Request{
		{API: APIGraph, Method: "GET", Path: "/v1.0/security/incidents", RawQuery: "$top=5", Status: 200, TenantID: identity.HomeTenantID},
		{API: APIXDR, Method: "GET", Path: "/api/incidents", Status: 401},
		{API: APIXDR, Method: "GET", Path: "/api/incidents", Status: 200, TenantID: identity.HomeTenantID},
		{API: APIEntra, Method: "GET", Path: "/" + identity.HomeTenantDomain + "/v2.0/.well-known/openid-configuration", Status: 200, TenantID: identity.HomeTenantID},
		{API: APIEntra, Method: "GET", Path: "/unknown.example/v2.0/.well-known/openid-configuration", Status: 400, TenantID: "unknown.example"},
		{API: APIEntra, Method: "POST", Path: "/" + identity.SecondTenantDomain + "/oauth2/v2.0/token", Status: 400, TenantID: identity.SecondTenantID},
	}
	got := e.Requests()
	if len(got) != len(want) {
		t.Fatalf("got %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		w.Time = clock.Now()
		if got[i] != w {
			t.Errorf("request %d = %+v, want %+v", i, got[i], w)
		}
	}
	if n := e.TokenRequests(); n != 1 {
		t.Errorf("TokenRequests = %d, want 1", n)
	}
	got[0].Path = "changed"
	if e.Requests()[0].Path == "changed" {
		t.Error("Requests returned the log itself, not a copy")
	}
}
