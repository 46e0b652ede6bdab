package e2e

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"testing"

	"github.com/defender-gateway/gateway/internal/testpki"
)

// clientLeaf issues a client certificate of ca with a common name, the
// organization "Contoso SOC" and an optional URI SAN.
func clientLeaf(t *testing.T, ca *testpki.CA, cn, uri string) testpki.Leaf {
	t.Helper()
	return ca.Issue(t, testpki.LeafSpec{Subject: pkix.Name{CommonName: cn, Organization: []string{"Contoso SOC"}}, URI: uri})
}

// clientTLS is a client TLS configuration trusting ca, presenting leaf when
// it is not nil.
func clientTLS(ca *testpki.CA, leaf *testpki.Leaf) *tls.Config {
	cfg := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	if leaf != nil {
		cfg.Certificates = []tls.Certificate{leaf.Pair}
	}
	return cfg
}
