package entra

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestVerify(t *testing.T) {
	f := newFixture(t)
	app := SandboxApps(nil)[0]
	issue := func() string {
		tok, _, err := f.srv.issueAppToken(app, acrSecret, identity.HomeTenantID, identity.XDRResource)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// forge signs claims derived from a valid token's, edited by edit.
	forge := func(method jwt.SigningMethod, key any, kid string, edit func(jwt.MapClaims)) string {
		c := decodeClaims(t, issue())
		edit(c)
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := issue()
	noEdit := func(jwt.MapClaims) {}

	tests := []struct {
		name    string
		token   func() string
		advance time.Duration
		wantErr error
	}{
		{"valid", func() string { return valid }, 0, nil},
		{"valid just before expiry", func() string { return valid }, 59 * time.Minute, nil},
		{"expired", func() string { return valid }, time.Hour + time.Second, ErrTokenExpired},
		{"not yet valid", func() string { return valid }, -time.Hour, ErrTokenExpired},
		{"garbage", func() string { return "abc" }, 0, ErrTokenInvalid},
		{"empty", func() string { return "" }, 0, ErrTokenInvalid},
		{"tampered payload", func() string {
			parts := strings.Split(valid, ".")
			other := strings.Split(forge(jwt.SigningMethodRS256, f.srv.key, f.srv.keyID, func(c jwt.MapClaims) { c["roles"] = []string{"x"} }), ".")
			return parts[0] + "." + other[1] + "." + parts[2]
		}, 0, ErrTokenInvalid},
		{"signed by another key", func() string { return forge(jwt.SigningMethodRS256, f.otherKey, f.srv.keyID, noEdit) }, 0, ErrTokenInvalid},
		{"unknown kid", func() string { return forge(jwt.SigningMethodRS256, f.srv.key, "other", noEdit) }, 0, ErrTokenInvalid},
		{"HS256 with the public key bytes", func() string {
			return forge(jwt.SigningMethodHS256, f.srv.key.N.Bytes(), f.srv.keyID, noEdit)
		}, 0, ErrTokenInvalid},
		{"issuer of another tenant", func() string {
			return forge(jwt.SigningMethodRS256, f.srv.key, f.srv.keyID, func(c jwt.MapClaims) { c["iss"] = accessTokenIssuer(identity.SecondTenantID) })
		}, 0, ErrTokenInvalid},
		{"v2 issuer", func() string {
			return forge(jwt.SigningMethodRS256, f.srv.key, f.srv.keyID, func(c jwt.MapClaims) {
				c["iss"] = "https://login.microsoftonline.com/" + identity.HomeTenantID + "/v2.0"
			})
		}, 0, ErrTokenInvalid},
		{"no exp", func() string {
			return forge(jwt.SigningMethodRS256, f.srv.key, f.srv.keyID, func(c jwt.MapClaims) { delete(c, "exp") })
		}, 0, ErrTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token()
			f.clock.Advance(tt.advance)
			defer f.clock.Advance(-tt.advance)
			c, err := f.srv.Verify(token)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if c.TenantID != identity.HomeTenantID || c.AppID != identity.ClientID || c.Audience != identity.XDRResource ||
				len(c.Roles) != 2 || !c.Has(identity.XDRHunting) || c.Subject == "" || c.ObjectID != c.Subject {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}
