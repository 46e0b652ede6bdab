package entratoken

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// Claims are the validated claims of a token.
type Claims struct {
	// Tenant is the token's tid; ConfiguredTenant the configured tenant
	// (as in Options.Tenants, a GUID or a domain) it matched.
	Tenant, ConfiguredTenant string
	// ObjectID is oid; UPN is upn or else preferred_username; Name is name;
	// AppID is the client the token was issued to (azp, or appid in v1.0
	// tokens).
	ObjectID, UPN, Name, AppID string
	// Scopes are the delegated scopes (scp); Roles the app roles (roles).
	Scopes, Roles []string
	// Audience is the aud value that matched Options.Audiences.
	Audience string
	// Expiry is exp; NotBefore is nbf (zero when absent).
	Expiry, NotBefore time.Time
	// IsUser says the token stands for a user: idtyp "user", or a scp or
	// upn claim.
	IsUser bool
}

// header is the JOSE header of a token.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// rawClaims are the claims as they are in the token.
type rawClaims struct {
	Issuer            string   `json:"iss"`
	Audience          audience `json:"aud"`
	Expiry            *numeric `json:"exp"`
	NotBefore         *numeric `json:"nbf"`
	TenantID          string   `json:"tid"`
	ObjectID          string   `json:"oid"`
	UPN               string   `json:"upn"`
	PreferredUsername string   `json:"preferred_username"`
	Name              string   `json:"name"`
	AZP               string   `json:"azp"`
	AppID             string   `json:"appid"`
	Scope             string   `json:"scp"`
	Roles             []string `json:"roles"`
	IDType            string   `json:"idtyp"`
}

// audience is aud: one string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// numeric is a NumericDate: seconds since the epoch, possibly fractional.
type numeric float64

func (n numeric) time() time.Time {
	sec := int64(n)
	return time.Unix(sec, int64((float64(n)-float64(sec))*1e9)).UTC()
}

// parse splits raw into its header and claims, without checking the
// signature.
func parse(raw string) (header, rawClaims, error) {
	var h header
	var c rawClaims
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return h, c, reject(CheckMalformed, "not a signed JWT (want 3 dot-separated parts, got %d)", len(parts))
	}
	if err := decodeSegment(parts[0], &h); err != nil {
		return h, c, reject(CheckMalformed, "the header is not base64url JSON")
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return h, c, reject(CheckMalformed, "the payload is not base64url JSON with the expected claim types")
	}
	if h.Alg != "RS256" {
		return h, c, reject(CheckMalformed, "alg %s is not RS256", shown(h.Alg))
	}
	switch {
	case c.TenantID == "":
		return h, c, reject(CheckMalformed, "no tid claim")
	case c.Expiry == nil:
		return h, c, reject(CheckMalformed, "no exp claim")
	case len(c.Audience) == 0:
		return h, c, reject(CheckMalformed, "no aud claim")
	}
	return h, c, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.NewDecoder(bytes.NewReader(b)).Decode(v)
}

// claims converts validated raw claims.
func (c rawClaims) claims(configured, aud string) *Claims {
	out := &Claims{
		Tenant:           c.TenantID,
		ConfiguredTenant: configured,
		ObjectID:         c.ObjectID,
		UPN:              cmpOr(c.UPN, c.PreferredUsername),
		Name:             c.Name,
		AppID:            cmpOr(c.AZP, c.AppID),
		Scopes:           strings.Fields(c.Scope),
		Roles:            c.Roles,
		Audience:         aud,
		Expiry:           c.Expiry.time(),
	}
	if c.NotBefore != nil {
		out.NotBefore = c.NotBefore.time()
	}
	out.IsUser = c.IDType == "user" || c.Scope != "" || c.UPN != ""
	return out
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
