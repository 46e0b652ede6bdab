package entra

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// DeviceCodeInterval is the polling interval the device code endpoint
// announces, in seconds. MSAL Go ignores it (it polls after 50 ms, then
// backs off ×3 up to 5 s), so the smallest whole second is announced.
const DeviceCodeInterval = 1

// Errors of the device code controls.
var (
	ErrUnknownUserCode = errors.New("entra: unknown user code")
	ErrCodeNotPending  = errors.New("entra: the device code is no longer pending")
	ErrUserNotInTenant = errors.New("entra: the user does not belong to the device code's tenant")
)

type deviceCodeState int

const (
	codePending deviceCodeState = iota
	codeApproved
	codeDeclined
	codeExpired
	codeRedeemed
)

// deviceCode is one device authorization in progress.
type deviceCode struct {
	deviceCode, userCode string
	clientID, tenantID   string
	scope                string
	expires              time.Time
	state                deviceCodeState
	upn                  string // the approving user
}

type deviceCodeResponse struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

// handleDeviceCode serves POST /{tenant}/oauth2/v2.0/devicecode for apps
// that allow public client flows.
func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequestBytes)
	formErr := r.ParseForm()
	tenantID, ok := s.registry.ResolveTenant(r.PathValue("tenant"))
	if !ok {
		writeOAuthError(w, r, errTenantNotFound(r.PathValue("tenant")))
		return
	}
	if formErr != nil {
		writeOAuthError(w, r, errMalformedRequest(formErr.Error()))
		return
	}
	clientID, scope := r.PostForm.Get("client_id"), r.PostForm.Get("scope")
	app, known := s.registry.App(clientID)
	var err *oauthError
	switch {
	case clientID == "":
		err = errMissingParameter("client_id")
	case !known:
		err = errUnknownClient(clientID, tenantID)
	case !app.PublicClient:
		err = errMissingCredential()
	}
	if err == nil {
		_, _, err = s.delegatedResource(scope, tenantID)
	}
	if err != nil {
		s.log.Debug("entra: device code refused", "tenant", tenantID, "client_id", clientID, "error", err.Error())
		writeOAuthError(w, r, err)
		return
	}
	dc := &deviceCode{
		deviceCode: randomToken(48),
		userCode:   newUserCode(),
		clientID:   clientID,
		tenantID:   tenantID,
		scope:      scope,
		expires:    s.now().Add(s.deviceCodeLifetime),
	}
	s.grantsMu.Lock()
	forgetBefore := s.now().Add(-s.deviceCodeLifetime)
	for key, old := range s.deviceCodes { // codes expired for a lifetime are forgotten
		if old.expires.Before(forgetBefore) {
			delete(s.deviceCodes, key)
		}
	}
	s.deviceCodes[dc.deviceCode] = dc
	s.grantsMu.Unlock()
	verification := "https://" + r.Host + "/devicelogin"
	w.Header().Set("Cache-Control", "no-store, no-cache")
	wire.WriteJSON(w, http.StatusOK, deviceCodeResponse{
		UserCode:        dc.userCode,
		DeviceCode:      dc.deviceCode,
		VerificationURI: verification,
		ExpiresIn:       int64(s.deviceCodeLifetime.Seconds()),
		Interval:        DeviceCodeInterval,
		Message: fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.",
			verification, dc.userCode),
	})
}

// deviceCodeGrant implements grant_type device_code: pending, declined,
// expired and unknown codes get Entra's polling errors; an approved code is
// redeemed once for the approving user's tokens.
func (s *Server) deviceCodeGrant(req tokenRequest) (tokenResponse, *oauthError) {
	clientID, code := req.get("client_id"), req.get("device_code")
	switch {
	case clientID == "":
		return tokenResponse{}, errMissingParameter("client_id")
	case code == "":
		return tokenResponse{}, errMissingParameter("device_code")
	}
	app, ok := s.registry.App(clientID)
	if !ok {
		return tokenResponse{}, errUnknownClient(clientID, req.tenantID)
	}
	dc, err := s.redeemDeviceCode(code, clientID, req.tenantID)
	if err != nil {
		return tokenResponse{}, err
	}
	user, ok := s.registry.User(dc.upn)
	if !ok {
		return tokenResponse{}, errTransient()
	}
	return s.userGrant(app, user, dc.tenantID, dc.scope, req.host)
}

// redeemDeviceCode returns the approved code and marks it redeemed, or the
// polling error its state calls for.
func (s *Server) redeemDeviceCode(code, clientID, tenantID string) (deviceCode, *oauthError) {
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	dc := s.deviceCodes[code]
	if dc == nil || dc.clientID != clientID || dc.tenantID != tenantID {
		return deviceCode{}, errDeviceFlow("bad_verification_code", 70000, "The provided value for the input parameter 'device_code' is not valid.")
	}
	if dc.state == codePending && !s.now().Before(dc.expires) {
		dc.state = codeExpired
	}
	switch dc.state {
	case codePending:
		return deviceCode{}, errDeviceFlow("authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	case codeDeclined:
		return deviceCode{}, errDeviceFlow("authorization_declined", 70000, "The user declined the authorization request.")
	case codeExpired:
		return deviceCode{}, errDeviceFlow("expired_token", 70019, "Verification code expired.")
	case codeRedeemed:
		return deviceCode{}, errInvalidGrant(70000, "The device code has already been redeemed.")
	}
	dc.state = codeRedeemed
	return *dc, nil
}

// ApproveDeviceCode signs in upn for the pending device code userCode (case
// and dashes ignored), as the user would on /devicelogin. The user must
// belong to the code's tenant.
func (s *Server) ApproveDeviceCode(userCode, upn string) error {
	return s.settleDeviceCode(userCode, func(dc *deviceCode) error {
		user, ok := s.registry.User(upn)
		if !ok {
			return fmt.Errorf("%w %q", ErrUnknownUser, upn)
		}
		if user.TenantID != dc.tenantID {
			return fmt.Errorf("%w: %s is not in tenant %s", ErrUserNotInTenant, user.UPN, dc.tenantID)
		}
		dc.state, dc.upn = codeApproved, user.UPN
		return nil
	})
}

// DeclineDeviceCode declines the pending device code userCode.
func (s *Server) DeclineDeviceCode(userCode string) error {
	return s.settleDeviceCode(userCode, func(dc *deviceCode) error {
		dc.state = codeDeclined
		return nil
	})
}

// ExpireDeviceCode expires the pending device code userCode now.
func (s *Server) ExpireDeviceCode(userCode string) error {
	return s.settleDeviceCode(userCode, func(dc *deviceCode) error {
		dc.state = codeExpired
		return nil
	})
}

// settleDeviceCode applies change to the pending code userCode.
func (s *Server) settleDeviceCode(userCode string, change func(*deviceCode) error) error {
	want := normalizeUserCode(userCode)
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	for _, dc := range s.deviceCodes {
		if dc.userCode != want {
			continue
		}
		if dc.state == codePending && !s.now().Before(dc.expires) {
			dc.state = codeExpired
		}
		if dc.state != codePending {
			return ErrCodeNotPending
		}
		return change(dc)
	}
	return fmt.Errorf("%w %q", ErrUnknownUserCode, userCode)
}

// deviceCodeTenant returns the tenant of the device code userCode.
func (s *Server) deviceCodeTenant(userCode string) (string, bool) {
	want := normalizeUserCode(userCode)
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	for _, dc := range s.deviceCodes {
		if dc.userCode == want {
			return dc.tenantID, true
		}
	}
	return "", false
}

// userCodeAlphabet leaves out look-alike characters (0/O, 1/I/L).
const userCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// newUserCode returns a 9-character user code, as Entra's.
func newUserCode() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b[:])
}

func normalizeUserCode(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
