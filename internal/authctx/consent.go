package authctx

import (
	"context"
	"net/url"
	"strings"

	"github.com/defender-gateway/gateway/internal/defender"
)

// ErrorInfo metadata key of the admin-consent URL.
const metaConsentURL = "consent_url"

// AdminConsentURL is Entra ID's admin-consent endpoint for tenant:
// {authorityHost}/{tenant}/adminconsent?client_id=..&redirect_uri=..&state=..
// redirectURI and state are left out when empty; without redirect_uri Entra
// returns the administrator to the app registration's default reply URL.
func AdminConsentURL(authorityHost, tenant, clientID, redirectURI, state string) string {
	q := url.Values{"client_id": {clientID}}
	if redirectURI != "" {
		q.Set("redirect_uri", redirectURI)
	}
	if state != "" {
		q.Set("state", state)
	}
	return strings.TrimRight(authorityHost, "/") + "/" + url.PathEscape(tenant) + "/adminconsent?" + q.Encode()
}

// ConsentLink is what GetConsentUrl answers.
type ConsentLink struct {
	URL         string
	RedirectURI string
}

// consentTokens adds the tenant's admin-consent URL to a CONSENT_REQUIRED
// error of its token source.
type consentTokens struct {
	defender.TokenSource
	consentURL string
}

func (c consentTokens) Token(ctx context.Context) (string, error) {
	token, err := c.TokenSource.Token(ctx)
	if e, ok := defender.AsError(err); ok && e.Reason == defender.ReasonConsentRequired {
		// The error may be shared by concurrent callers: copy it.
		withURL := *e
		withURL.Metadata = map[string]string{metaConsentURL: c.consentURL}
		for k, v := range e.Metadata {
			withURL.Metadata[k] = v
		}
		withURL.Links = append(append([]defender.Link(nil), e.Links...),
			defender.Link{Description: "Admin consent for this tenant (to be opened by its administrator)", URL: c.consentURL})
		return "", &withURL
	}
	return token, err
}
