package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"testing"

	"github.com/defender-gateway/gateway/internal/testpki"
)

// pki is the certificates of an mtls test: the server's, files for
// NewTLSConfig, and client certificates from the trusted CA and another.
type pki struct {
	certFile, keyFile, caFile string
	roots                     *x509.CertPool
	client, lowClient         tls.Certificate // trusted CA
	foreign                   tls.Certificate // another CA
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca, other := testpki.NewCA(t, "gateway test CA"), testpki.NewCA(t, "foreign CA")
	server := ca.Issue(t, testpki.LeafSpec{Server: true, Subject: pkix.Name{CommonName: "gateway"}})
	dir := t.TempDir()
	p := &pki{
		certFile: filepath.Join(dir, "server.pem"),
		keyFile:  filepath.Join(dir, "server-key.pem"),
		caFile:   filepath.Join(dir, "ca.pem"),
		roots:    ca.Pool(),
	}
	for path, data := range map[string][]byte{p.certFile: server.CertPEM, p.keyFile: server.KeyPEM, p.caFile: ca.PEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p.client = ca.Issue(t, testpki.LeafSpec{Subject: pkix.Name{CommonName: "soc"}, URI: "spiffe://corp/soc"}).Pair
	p.lowClient = ca.Issue(t, testpki.LeafSpec{Subject: pkix.Name{CommonName: "low"}}).Pair
	p.foreign = other.Issue(t, testpki.LeafSpec{Subject: pkix.Name{CommonName: "intruder"}, URI: "spiffe://corp/soc"}).Pair
	return p
}
