package callerauth

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
)

// CertificateIdentity names the caller of a verified client certificate:
// mtls:<first URI SAN>, else mtls:<subject DN as an RFC 2253 string>, else
// (an empty subject) mtls:sha256:<certificate fingerprint>.
func CertificateIdentity(cert *x509.Certificate) string {
	if len(cert.URIs) > 0 {
		return "mtls:" + cert.URIs[0].String()
	}
	if subject := cert.Subject.String(); subject != "" {
		return "mtls:" + subject
	}
	sum := sha256.Sum256(cert.Raw)
	return "mtls:sha256:" + hex.EncodeToString(sum[:])
}
