package entra

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// deviceLoginPage is the sign-in page of the device code flow: the user
// code, a choice of sandbox user and Approve/Decline. html/template escapes
// every value.
var deviceLoginPage = template.Must(template.New("devicelogin").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Emulator device sign-in</title></head>
<body>
<h1>Sign in to the Defender Gateway emulator</h1>
<form method="post" action="/devicelogin">
<label>Code <input name="user_code" value="{{.UserCode}}" autocomplete="off"></label>
<label>User <select name="upn">{{range .Users}}
<option value="{{.UPN}}">{{.DisplayName}} ({{.UPN}})</option>{{end}}
</select></label>
<button name="action" value="approve">Approve</button>
<button name="action" value="decline">Decline</button>
</form>
</body></html>
`))

// handleDeviceLoginPage serves GET /devicelogin[?user_code=...]: with a
// known code, the select lists that code's tenant's users; otherwise all.
func (s *Server) handleDeviceLoginPage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	var users []identity.User
	if tenantID, ok := s.deviceCodeTenant(code); ok {
		users = s.registry.UsersOf(tenantID)
	} else {
		for _, t := range s.registry.tenantIDs() {
			users = append(users, s.registry.UsersOf(t)...)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = deviceLoginPage.Execute(w, struct {
		UserCode string
		Users    []identity.User
	}{code, users})
}

// handleDeviceLoginSubmit serves POST /devicelogin with form fields
// user_code, upn and action=approve|decline, answering plain text.
func (s *Server) handleDeviceLoginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequestBytes)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form is malformed.", http.StatusBadRequest)
		return
	}
	code := r.PostForm.Get("user_code")
	var err error
	var done string
	switch r.PostForm.Get("action") {
	case "approve":
		err = s.ApproveDeviceCode(code, r.PostForm.Get("upn"))
		done = "Signed in. You can close this window and return to the application."
	case "decline":
		err = s.DeclineDeviceCode(code)
		done = "Sign-in declined. You can close this window."
	default:
		http.Error(w, "action must be approve or decline.", http.StatusBadRequest)
		return
	}
	switch {
	case errors.Is(err, ErrUnknownUserCode):
		http.Error(w, "That code is not valid.", http.StatusBadRequest)
	case errors.Is(err, ErrCodeNotPending):
		http.Error(w, "That code has expired or was already used.", http.StatusBadRequest)
	case errors.Is(err, ErrUnknownUser), errors.Is(err, ErrUserNotInTenant):
		http.Error(w, "That user cannot sign in with this code.", http.StatusBadRequest)
	case err != nil:
		http.Error(w, "The sign-in failed.", http.StatusInternalServerError)
	default:
		_, _ = w.Write([]byte(done + "\n"))
	}
}
