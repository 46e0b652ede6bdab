package entra

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// startDeviceCode asks for a device code and returns the answer.
func (f *fixture) startDeviceCode(t *testing.T, clientID, scope string) map[string]any {
	t.Helper()
	status, body := f.post(t, "/"+identity.HomeTenantDomain+"/oauth2/v2.0/devicecode",
		url.Values{"client_id": {clientID}, "scope": {scope + " openid offline_access profile"}}, nil)
	if status != http.StatusOK {
		t.Fatalf("devicecode: status %d %v", status, body)
	}
	return body
}

func (f *fixture) pollDeviceCode(t *testing.T, clientID, deviceCode string) (int, map[string]any) {
	t.Helper()
	return f.post(t, "/"+identity.HomeTenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {grantDeviceCode}, "client_id": {clientID}, "device_code": {deviceCode},
	}, nil)
}

func TestDeviceCodeStart(t *testing.T) {
	f := newFixture(t)
	body := f.startDeviceCode(t, identity.ClientID, identity.XDRResource+"/.default")
	code, _ := body["user_code"].(string)
	if len(code) != 9 || body["device_code"] == "" || body["verification_uri"] != f.ts.URL+"/devicelogin" ||
		body["expires_in"] != float64(900) || body["interval"] != float64(DeviceCodeInterval) ||
		!strings.Contains(body["message"].(string), code) {
		t.Errorf("device code answer = %v", body)
	}

	tests := []struct {
		name      string
		clientID  string
		scope     string
		wantError string
		wantCode  int
	}{
		{"public client flows disabled", identity.ReadOnlyClientID, identity.GraphResource + "/.default", "invalid_client", 7000218},
		{"unknown client", "99999999-9999-4999-8999-999999999999", identity.GraphResource + "/.default", "unauthorized_client", 700016},
		{"no API scope", identity.ClientID, "openid profile", "invalid_scope", 70011},
		{"unknown resource", identity.ClientID, "https://management.azure.com/.default", "invalid_resource", 500011},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.post(t, "/"+identity.HomeTenantID+"/oauth2/v2.0/devicecode",
				url.Values{"client_id": {tt.clientID}, "scope": {tt.scope}}, nil)
			if status < 400 || body["error"] != tt.wantError || aadstsCode(body) != tt.wantCode {
				t.Errorf("status %d, error %v %v; want %s [%d]", status, body["error"], body["error_codes"], tt.wantError, tt.wantCode)
			}
		})
	}
}

func TestDeviceCodeGrant(t *testing.T) {
	tests := []struct {
		name      string
		settle    func(f *fixture, userCode string) error
		advance   time.Duration
		code      func(deviceCode string) string
		wantError string
		wantCode  int
	}{
		{name: "pending", settle: func(*fixture, string) error { return nil }, wantError: "authorization_pending", wantCode: 70016},
		{name: "approved", settle: func(f *fixture, c string) error {
			return f.srv.ApproveDeviceCode(strings.ToLower(c), identity.AliceUPN)
		}},
		{name: "declined", settle: func(f *fixture, c string) error { return f.srv.DeclineDeviceCode(c) }, wantError: "authorization_declined", wantCode: 70000},
		{name: "expired by control", settle: func(f *fixture, c string) error { return f.srv.ExpireDeviceCode(c) }, wantError: "expired_token", wantCode: 70019},
		{name: "expired by clock", settle: func(*fixture, string) error { return nil }, advance: 901 * time.Second, wantError: "expired_token", wantCode: 70019},
		{name: "unknown code", settle: func(*fixture, string) error { return nil }, code: func(string) string { return "nope" }, wantError: "bad_verification_code", wantCode: 70000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			start := f.startDeviceCode(t, identity.ClientID, identity.GraphResource+"/.default")
			if err := tt.settle(f, start["user_code"].(string)); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(tt.advance)
			deviceCode := start["device_code"].(string)
			if tt.code != nil {
				deviceCode = tt.code(deviceCode)
			}
			status, body := f.pollDeviceCode(t, identity.ClientID, deviceCode)
			if tt.wantError != "" {
				if status != 400 || body["error"] != tt.wantError || aadstsCode(body) != tt.wantCode {
					t.Fatalf("status %d, error %v %v; want %s [%d]", status, body["error"], body["error_codes"], tt.wantError, tt.wantCode)
				}
				return
			}
			if status != 200 {
				t.Fatalf("status %d: %v", status, body)
			}
			checkUserTokens(t, f, body, identity.AliceUPN, identity.ClientID)
			// A device code is redeemed once.
			if status, body := f.pollDeviceCode(t, identity.ClientID, start["device_code"].(string)); status != 400 || body["error"] != "invalid_grant" {
				t.Errorf("second redemption: status %d %v", status, body["error"])
			}
		})
	}
}

// checkUserTokens checks a user grant's answer: a delegated Graph token, an
// ID token and client_info MSAL can build an account from.
func checkUserTokens(t *testing.T, f *fixture, body map[string]any, upn, clientID string) {
	t.Helper()
	user, _ := identity.UserByUPN(upn)
	c, err := f.srv.Verify(body["access_token"].(string))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.UPN != upn || c.ObjectID != user.ObjectID || c.TenantID != user.TenantID || c.AppID != clientID || len(c.Scopes) == 0 {
		t.Errorf("access token claims %+v", c)
	}
	id := decodeClaims(t, body["id_token"].(string))
	if id["aud"] != clientID || id["iss"] != f.ts.URL+"/"+user.TenantID+"/v2.0" || id["oid"] != user.ObjectID ||
		id["tid"] != user.TenantID || id["preferred_username"] != upn || id["name"] != user.DisplayName {
		t.Errorf("id_token = %v", id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body["client_info"].(string))
	var info map[string]string
	if err != nil || json.Unmarshal(raw, &info) != nil || info["uid"] != user.ObjectID || info["utid"] != user.TenantID {
		t.Errorf("client_info = %s (%v)", raw, err)
	}
	if s, _ := body["refresh_token"].(string); s == "" {
		t.Error("no refresh_token")
	}
}

func TestDeviceCodeControls(t *testing.T) {
	f := newFixture(t)
	code := f.startDeviceCode(t, identity.ClientID, identity.GraphResource+"/.default")["user_code"].(string)
	if err := f.srv.ApproveDeviceCode(code, identity.CarolUPN); !errors.Is(err, ErrUserNotInTenant) {
		t.Errorf("approve with a fabrikam user: %v, want ErrUserNotInTenant", err)
	}
	if err := f.srv.ApproveDeviceCode(code, "mallory@contoso.onmicrosoft.com"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("approve with an unknown user: %v", err)
	}
	if err := f.srv.ApproveDeviceCode("ZZZZZZZZZ", identity.AliceUPN); !errors.Is(err, ErrUnknownUserCode) {
		t.Errorf("approve unknown code: %v", err)
	}
	if err := f.srv.DeclineDeviceCode(code); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.ApproveDeviceCode(code, identity.AliceUPN); !errors.Is(err, ErrCodeNotPending) {
		t.Errorf("approve a declined code: %v", err)
	}
}

func TestRefreshTokenGrant(t *testing.T) {
	f := newFixture(t)
	signIn := func(upn string) string {
		start := f.startDeviceCode(t, identity.ClientID, identity.GraphResource+"/.default")
		if err := f.srv.ApproveDeviceCode(start["user_code"].(string), upn); err != nil {
			t.Fatal(err)
		}
		_, body := f.pollDeviceCode(t, identity.ClientID, start["device_code"].(string))
		return body["refresh_token"].(string)
	}
	refresh := func(clientID, token, scope string) (int, map[string]any) {
		return f.post(t, "/"+identity.HomeTenantID+"/oauth2/v2.0/token", url.Values{
			"grant_type": {grantRefreshToken}, "client_id": {clientID}, "refresh_token": {token},
			"scope": {scope + " openid offline_access profile"},
		}, nil)
	}
	first := signIn(identity.AliceUPN)
	status, body := refresh(identity.ClientID, first, identity.XDRResource+"/.default")
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	checkUserTokens(t, f, body, identity.AliceUPN, identity.ClientID)
	rotated := body["refresh_token"].(string)
	if rotated == first {
		t.Error("refresh token not rotated")
	}
	if status, body := refresh(identity.ClientID, first, identity.GraphResource+"/.default"); status != 400 || aadstsCode(body) != 70008 {
		t.Errorf("reusing a rotated refresh token: %d %v", status, body["error_codes"])
	}
	bobs := signIn(identity.BobUPN)
	f.srv.RevokeRefreshTokens(identity.AliceUPN)
	if status, body := refresh(identity.ClientID, rotated, identity.GraphResource+"/.default"); status != 400 || body["error"] != "invalid_grant" || aadstsCode(body) != 50173 {
		t.Errorf("revoked: %d %v %v", status, body["error"], body["error_codes"])
	}
	if status, body := refresh(identity.ReadOnlyClientID, bobs, identity.GraphResource+"/.default"); status != 401 || aadstsCode(body) != 7000218 {
		t.Errorf("confidential client without credential: %d %v", status, body["error_codes"])
	}
	if status, body := refresh(identity.ClientID, bobs, identity.GraphResource+"/.default"); status != 200 {
		t.Errorf("another user's refresh token after alice's revocation: %d %v", status, body)
	}
	if status, body := refresh(identity.ClientID, "garbage", identity.GraphResource+"/.default"); status != 400 || aadstsCode(body) != 70008 {
		t.Errorf("unknown refresh token: %d %v", status, body["error_codes"])
	}
}

func TestDeviceLoginPage(t *testing.T) {
	f := newFixture(t)
	code := f.startDeviceCode(t, identity.ClientID, identity.GraphResource+"/.default")["user_code"].(string)
	resp, err := f.ts.Client().Get(f.ts.URL + "/devicelogin?user_code=" + url.QueryEscape(code+`"><script>`))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), "<script>") || !strings.Contains(string(page), identity.AliceUPN) {
		t.Errorf("page not escaped or without users:\n%s", page)
	}
	resp, err = f.ts.Client().Get(f.ts.URL + "/devicelogin?user_code=" + code)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), identity.CarolUPN) || !strings.Contains(string(page), identity.BobUPN) {
		t.Errorf("the select should list the code's tenant's users only:\n%s", page)
	}

	submit := func(form url.Values) (int, string) {
		resp, err := f.ts.Client().PostForm(f.ts.URL+"/devicelogin", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := submit(url.Values{"user_code": {code}, "upn": {identity.CarolUPN}, "action": {"approve"}}); status != 400 {
		t.Errorf("approve with another tenant's user: %d", status)
	}
	if status, _ := submit(url.Values{"user_code": {code}, "action": {"maybe"}}); status != 400 {
		t.Errorf("bad action: %d", status)
	}
	if status, text := submit(url.Values{"user_code": {code}, "upn": {identity.BobUPN}, "action": {"approve"}}); status != 200 || !strings.Contains(text, "Signed in") {
		t.Errorf("approve: %d %q", status, text)
	}
}

// TestDeviceCodeShortGrantType: MSAL Go sends grant_type=device_code, which
// Entra accepts besides the URN.
func TestDeviceCodeShortGrantType(t *testing.T) {
	f := newFixture(t)
	start := f.startDeviceCode(t, identity.ClientID, identity.GraphResource+"/.default")
	if err := f.srv.ApproveDeviceCode(start["user_code"].(string), identity.BobUPN); err != nil {
		t.Fatal(err)
	}
	status, body := f.post(t, "/"+identity.HomeTenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"device_code"}, "client_id": {identity.ClientID}, "device_code": {start["device_code"].(string)},
	}, nil)
	if status != http.StatusOK {
		t.Fatalf("status %d %v", status, body)
	}
	checkUserTokens(t, f, body, identity.BobUPN, identity.ClientID)
}
