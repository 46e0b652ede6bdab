package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestControlHandler(t *testing.T) {
	e := startTest(t, Options{})
	srv := httptest.NewServer(e.ControlHandler("/ctl/"))
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	token := tenantToken(t, e, identity.HomeTenantID, identity.GraphResource)
	incidents := e.GraphURL() + "/security/incidents"

	status, body := do(http.MethodPost, "/ctl/faults",
		`{"api":"graph","tenant":"`+identity.HomeTenantID+`","pathPrefix":"/v1.0/security/incidents","status":429,"retryAfter":"2s","times":1}`)
	if status != http.StatusCreated {
		t.Fatalf("add: %d %s", status, body)
	}
	var added struct{ ID int }
	if err := json.Unmarshal([]byte(body), &added); err != nil || added.ID == 0 {
		t.Fatalf("add body %s: %v", body, err)
	}
	if status, body := do(http.MethodGet, "/ctl/faults", ""); status != 200 || !strings.Contains(body, `"retryAfter":"2s"`) || !strings.Contains(body, `"remaining":1`) {
		t.Errorf("list: %d %s", status, body)
	}
	if resp := call(t, e, http.MethodGet, incidents, token); resp.status != 429 || resp.header.Get("Retry-After") != "2" {
		t.Errorf("faulted call: %d Retry-After %q", resp.status, resp.header.Get("Retry-After"))
	}
	if got := call(t, e, http.MethodGet, incidents, token).status; got != 200 {
		t.Errorf("after Times ran out: %d", got)
	}
	if status, body := do(http.MethodGet, "/ctl/stats", ""); status != 200 ||
		!strings.Contains(body, `"route":"incident-read"`) || !strings.Contains(body, `"faulted429":1`) {
		t.Errorf("stats: %d %s", status, body)
	}

	status, body = do(http.MethodPost, "/ctl/faults", `{"api":"xdr","status":503}`)
	if status != http.StatusCreated {
		t.Fatalf("add: %d %s", status, body)
	}
	_ = json.Unmarshal([]byte(body), &added)
	if status, _ := do(http.MethodDelete, "/ctl/faults/"+strconv.Itoa(added.ID), ""); status != http.StatusNoContent {
		t.Errorf("delete: %d", status)
	}
	if len(e.Faults()) != 0 {
		t.Errorf("faults left: %+v", e.Faults())
	}

	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"unknown api", http.MethodPost, "/ctl/faults", `{"api":"mail","status":500}`, 400},
		{"unknown field", http.MethodPost, "/ctl/faults", `{"api":"xdr","sttus":500}`, 400},
		{"bad duration", http.MethodPost, "/ctl/faults", `{"api":"xdr","delay":"soon"}`, 400},
		{"not json", http.MethodPost, "/ctl/faults", `status=500`, 400},
		{"too large", http.MethodPost, "/ctl/faults", `{"api":"xdr","message":"` + strings.Repeat("x", maxControlBody) + `"}`, 413},
		{"unknown id", http.MethodDelete, "/ctl/faults/999", "", 404},
		{"unknown route", http.MethodGet, "/ctl/nothing", "", 404},
		{"clear", http.MethodDelete, "/ctl/faults", "", 204},
		{"reset stats", http.MethodDelete, "/ctl/stats", "", 204},
	}
	for _, tt := range tests {
		if got, body := do(tt.method, tt.path, tt.body); got != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, got, body, tt.want)
		}
	}
	if len(e.Faults()) != 0 || len(e.Stats()) != 0 {
		t.Errorf("after clear and reset: %+v %+v", e.Faults(), e.Stats())
	}
}
