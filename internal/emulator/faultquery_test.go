package emulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestFaultQueryMatch(t *testing.T) {
	tests := []struct {
		query, rawQuery string
		want            bool
	}{
		{"", "", true},
		{"", "$top=1", true},
		{"$expand=alerts", "$expand=alerts", true},
		{"$expand=alerts", "%24expand=alerts", true},
		{"$expand=alerts", "$filter=status+eq+'active'&%24expand=alerts&$top=5", true},
		{"$expand=alerts", "$top=5", false},
		{"$expand=alerts", "", false},
		{"$expand=alerts", "$expand=none", false},
		{"status eq 'active'", "$filter=status+eq+%27active%27", true},
		{"$expand=alerts", "%zz&$expand=alerts", true}, // a bad escape: compared undecoded
	}
	for _, tt := range tests {
		t.Run(tt.query+" in "+tt.rawQuery, func(t *testing.T) {
			var s faultSet
			s.add(Fault{API: APIGraph, Query: tt.query, Status: 500})
			r := httptest.NewRequest(http.MethodGet, "/v1.0/security/incidents", nil)
			r.URL.RawQuery = tt.rawQuery
			if _, got := s.take(APIGraph, r, func() string { return "" }); got != tt.want {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExpandAlertsFailure(t *testing.T) {
	e := startReal(t)
	tok := homeTokens(t, e)
	second := tenantToken(t, e, identity.SecondTenantID, identity.GraphResource)
	id := e.AddFault(ExpandAlertsFailure(identity.HomeTenantID, 0))
	list := e.GraphURL() + "/security/incidents"

	tests := []struct {
		name, url, token string
		want             int
	}{
		{"list with $expand", list + "?$expand=alerts", tok.graph, http.StatusInternalServerError},
		{"again: until removed", list + "?$expand=alerts", tok.graph, http.StatusInternalServerError},
		{"escaped, with a filter", list + "?%24filter=lastUpdateDateTime+ge+2024-01-01T00:00:00Z&%24expand=alerts&%24top=5", tok.graph, http.StatusInternalServerError},
		{"list without $expand", list + "?$top=5", tok.graph, http.StatusOK},
		{"get with $expand", list + "/" + "1000?$expand=alerts", tok.graph, http.StatusOK},
		{"other tenant", list + "?$expand=alerts", second, http.StatusOK},
		{"xdr list", e.XDRURL() + "/api/incidents", tok.xdr, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, e, http.MethodGet, tt.url, tt.token)
			if resp.status != tt.want {
				t.Fatalf("status %d, want %d; body %v", resp.status, tt.want, resp.body)
			}
			if tt.want != http.StatusOK {
				msg, _ := resp.body["error"].(map[string]any)["message"].(string)
				if errorCode(resp.body) != "InternalServerError" || msg != ExpandAlertsFailureMessage {
					t.Errorf("error body %v", resp.body)
				}
			}
		})
	}
	if faults := e.Faults(); len(faults) != 1 || faults[0].Fault.Query != "$expand=alerts" {
		t.Errorf("Faults() = %+v", faults)
	}
	if !e.RemoveFault(id) {
		t.Fatal("fault not found")
	}
	if resp := call(t, e, http.MethodGet, list+"?$expand=alerts", tok.graph); resp.status != http.StatusOK {
		t.Errorf("after removal: %d", resp.status)
	}
	if f := ExpandAlertsFailure("", 503); f.Status != 503 || f.Times != 0 || f.Tenant != "" {
		t.Errorf("ExpandAlertsFailure(\"\", 503) = %+v", f)
	}
}

func TestControlFaultQuery(t *testing.T) {
	e := startTest(t, Options{})
	srv := httptest.NewServer(e.ControlHandler("/ctl/"))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/ctl/faults", "application/json",
		strings.NewReader(`{"api":"graph","pathPrefix":"/v1.0/security/incidents","query":"$expand=alerts","status":500}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add: %d", resp.StatusCode)
	}
	if faults := e.Faults(); len(faults) != 1 || faults[0].Fault.Query != "$expand=alerts" {
		t.Fatalf("Faults() = %+v", faults)
	}
	if fj := faultToJSON(e.Faults()[0].Fault); fj.Query != "$expand=alerts" {
		t.Errorf("GET faults loses the query: %+v", fj)
	}
	token := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	if got := call(t, e, http.MethodGet, e.GraphURL()+"/security/incidents?$expand=alerts", token).status; got != 500 {
		t.Errorf("with the query: %d", got)
	}
	if got := call(t, e, http.MethodGet, e.GraphURL()+"/security/incidents", token).status; got != 200 {
		t.Errorf("without the query: %d", got)
	}
}
