package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/callerauth"
	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/server"
	"github.com/defender-gateway/gateway/internal/testpki"
)

// TestTLSReload: after the certificate, key and client CA files are
// replaced and reloaded, new handshakes on both listeners get the new
// certificate (still negotiating h2), a client certificate of the new CA is
// accepted and one of the old CA refused, and a gRPC connection made
// before keeps working. A bad file on the next reload keeps the new
// material in force.
func TestTLSReload(t *testing.T) {
	p := newPKI(t)
	files, err := server.NewTLSFiles(p.certFile, p.keyFile, p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := callerauth.New(callerauth.Options{Mode: config.CallerAuthMTLS})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, nil, func(o *server.Options) {
		o.TLS, o.CallerAuth, o.Policy = files.Config(), authn, testPolicyStore(t)
	})
	ca2 := testpki.NewCA(t, "rotated CA")
	roots := p.roots.Clone()
	roots.AddCert(ca2.Cert)
	clientCfg := func(cert tls.Certificate) *tls.Config {
		return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }}
	}
	// serial is the certificate a new handshake on addr presents; the
	// protocol must be h2 on both listeners.
	serial := func(addr string) *big.Int {
		t.Helper()
		cfg := clientCfg(p.client)
		cfg.NextProtos = []string{"h2"}
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatalf("handshake with %s: %v", addr, err)
		}
		defer c.Close()
		st := c.ConnectionState()
		if st.NegotiatedProtocol != "h2" {
			t.Errorf("%s negotiated %q, want h2", addr, st.NegotiatedProtocol)
		}
		return st.PeerCertificates[0].SerialNumber
	}
	call := func(conn *grpc.ClientConn) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := defenderv1.NewIncidentServiceClient(conn).GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/1"})
		return err
	}
	leafSerial := func(pemCert []byte) *big.Int {
		block, _ := pem.Decode(pemCert)
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c.SerialNumber
	}

	oldSerial := serial(ts.srv.GRPCAddr())
	before := dial(t, ts.srv.GRPCAddr(), clientCfg(p.client))
	if err := call(before); err != nil {
		t.Fatalf("call before the rotation: %v", err)
	}

	newServer := ca2.Issue(t, testpki.LeafSpec{Server: true, Subject: pkix.Name{CommonName: "gateway"}})
	newClient := ca2.Issue(t, testpki.LeafSpec{Subject: pkix.Name{CommonName: "soc"}, URI: "spiffe://corp/soc"}).Pair
	for path, data := range map[string][]byte{p.certFile: newServer.CertPEM, p.keyFile: newServer.KeyPEM, p.caFile: ca2.PEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := files.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	want := leafSerial(newServer.CertPEM)
	for _, addr := range []string{ts.srv.GRPCAddr(), ts.srv.HTTPAddr()} {
		if got := serial(addr); got.Cmp(want) != 0 || got.Cmp(oldSerial) == 0 {
			t.Errorf("%s presents serial %v after the reload, want the new %v", addr, got, want)
		}
	}
	if err := call(before); err != nil {
		t.Errorf("the connection made before the reload: %v", err)
	}
	if err := call(dial(t, ts.srv.GRPCAddr(), clientCfg(newClient))); err != nil {
		t.Errorf("client certificate of the new CA: %v", err)
	}
	if err := call(dial(t, ts.srv.GRPCAddr(), clientCfg(p.client))); status.Code(err) != codes.Unavailable {
		t.Errorf("new connection with the old CA's client certificate = %v, want UNAVAILABLE (handshake failure)", err)
	}

	if err := os.WriteFile(p.certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := files.Reload(); err == nil {
		t.Error("Reload accepted a bad certificate file")
	}
	if got := serial(ts.srv.GRPCAddr()); got.Cmp(want) != 0 {
		t.Errorf("after a failed reload the serial is %v, want the last good %v", got, want)
	}
}
