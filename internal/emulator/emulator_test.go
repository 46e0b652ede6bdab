package emulator

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func TestAccessors(t *testing.T) {
	e := startTest(t, Options{})
	hostPort := regexp.MustCompile(`^https://127\.0\.0\.1:\d+$`)
	for name, u := range map[string]string{
		"AuthorityHost": e.AuthorityHost(),
		"GraphURL":      strings.TrimSuffix(e.GraphURL(), "/v1.0"),
		"XDRURL":        e.XDRURL(),
	} {
		if !hostPort.MatchString(u) {
			t.Errorf("%s = %q", name, u)
		}
	}
	if !strings.HasSuffix(e.GraphURL(), "/v1.0") {
		t.Errorf("GraphURL = %q, want a /v1.0 suffix", e.GraphURL())
	}
	if e.AuthorityHost() == e.XDRURL() || e.XDRURL()+"/v1.0" == e.GraphURL() {
		t.Error("servers share a port")
	}

	// A client built only from CACertPEM trusts every server, by IP and by
	// the localhost name.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.CACertPEM()) {
		t.Fatal("CACertPEM holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	u, err := url.Parse(e.AuthorityHost())
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{e.AuthorityHost(), "https://localhost:" + u.Port()} {
		resp, err := client.Get(base + "/" + identity.HomeTenantID + "/discovery/v2.0/keys")
		if err != nil {
			t.Fatalf("GET via %s: %v", base, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET via %s: status %d", base, resp.StatusCode)
		}
	}
	// The default client does not trust the emulator.
	if resp, err := http.Get(e.XDRURL() + "/api/incidents"); err == nil {
		resp.Body.Close()
		t.Error("a client without the CA connected")
	}
	http.DefaultClient.CloseIdleConnections()

	if e.CertPool().Equal(x509.NewCertPool()) {
		t.Error("CertPool is empty")
	}

	var blocks []string
	rest := e.ClientCertificatePEM()
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b.Type)
		if b.Type == "PRIVATE KEY" {
			if _, err := x509.ParsePKCS8PrivateKey(b.Bytes); err != nil {
				t.Errorf("PRIVATE KEY is not PKCS#8: %v", err)
			}
		}
	}
	if strings.Join(blocks, ",") != "CERTIFICATE,PRIVATE KEY" {
		t.Errorf("ClientCertificatePEM blocks = %v", blocks)
	}
}

func TestClose(t *testing.T) {
	e, err := Start(Options{apis: stubAPIs})
	if err != nil {
		t.Fatal(err)
	}
	client := e.HTTPClient()
	keys := e.AuthorityHost() + "/" + identity.HomeTenantID + "/discovery/v2.0/keys"
	resp, err := client.Get(keys)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if resp, err := client.Get(keys); err == nil {
		resp.Body.Close()
		t.Fatal("server still answers after Close")
	}
}
