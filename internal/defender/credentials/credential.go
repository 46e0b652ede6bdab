package credentials

import (
	"errors"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// The credential kinds CredentialKind reports.
const (
	KindClientSecret = "client_secret"
	KindCertificate  = "certificate"
)

// errBadCertificate says the certificate could not be used without repeating
// any of its content (it holds the private key).
var errBadCertificate = errors.New("the client certificate is not a PEM file holding a certificate and its unencrypted private key")

// newCredential builds the MSAL credential from exactly one of a secret and a
// PEM certificate with its private key, and names its kind.
func newCredential(secret string, certificatePEM []byte) (confidential.Credential, string, error) {
	switch {
	case secret != "" && len(certificatePEM) > 0:
		return confidential.Credential{}, "", errors.New("give either a client secret or a client certificate, not both")
	case secret != "":
		cred, err := confidential.NewCredFromSecret(secret)
		if err != nil {
			// MSAL's only failure here is an empty secret; its text holds
			// nothing of the secret, but stay independent of that.
			return confidential.Credential{}, "", errors.New("the client secret is not usable")
		}
		return cred, KindClientSecret, nil
	case len(certificatePEM) > 0:
		certs, key, err := confidential.CertFromPEM(certificatePEM, "")
		switch {
		case err != nil:
			// MSAL's reasons name PEM block types and parse failures, never
			// the bytes of a block.
			return confidential.Credential{}, "", fmt.Errorf("%w: %v", errBadCertificate, err)
		case len(certs) == 0:
			return confidential.Credential{}, "", fmt.Errorf("%w: no CERTIFICATE block", errBadCertificate)
		case key == nil:
			return confidential.Credential{}, "", fmt.Errorf("%w: no PRIVATE KEY block", errBadCertificate)
		}
		cred, err := confidential.NewCredFromCert(certs, key)
		if err != nil {
			return confidential.Credential{}, "", fmt.Errorf("%w: %v", errBadCertificate, err)
		}
		return cred, KindCertificate, nil
	default:
		return confidential.Credential{}, "", errors.New("a client secret or a client certificate is required")
	}
}
