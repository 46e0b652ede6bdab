package emulator

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// response is a decoded answer of one of the emulator's servers.
type response struct {
	status int
	header http.Header
	body   map[string]any
}

// call sends a request with an optional bearer token and decodes the JSON.
func call(t *testing.T, e *Emulator, method, rawURL, token string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := e.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("%s %s: status %d, body %q is not JSON: %v", method, rawURL, resp.StatusCode, data, err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

// fetchToken gets an access token for resource with the sandbox app's secret.
func fetchToken(t *testing.T, e *Emulator, clientID, secret, resource string) string {
	t.Helper()
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
		"scope":         {resource + "/.default"},
	}
	resp, err := e.HTTPClient().Post(e.AuthorityHost()+"/"+identity.HomeTenantID+"/oauth2/v2.0/token",
		"application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token request: status %d, err %v", resp.StatusCode, err)
	}
	return body.AccessToken
}

// errorCode returns error.code of a Graph or XDR error body.
func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}
