package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
)

// TLSFiles is the listeners' TLS material read from PEM files: the server
// certificate (chain) and key, and, when a client CA file is given, the CAs
// whose client certificates are verified. Client certificates are then
// verified if given (tls.VerifyClientCertIfGiven), so that health checks
// and /metrics work without one; API calls require one in mtls mode (the
// caller authentication enforces it). A certificate from another CA fails
// the handshake. TLS 1.2 is the minimum. Errors name the file, never its
// content.
//
// Reload re-reads the files: new handshakes use the new certificate and
// CAs, established connections keep theirs. A file that fails keeps the
// previous material in force.
type TLSFiles struct {
	certFile, keyFile, clientCAFile string
	current                         atomic.Pointer[tls.Config]
}

// NewTLSFiles reads the files once.
func NewTLSFiles(certFile, keyFile, clientCAFile string) (*TLSFiles, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("TLS: a certificate file and a key file are both required")
	}
	f := &TLSFiles{certFile: certFile, keyFile: keyFile, clientCAFile: clientCAFile}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// NewTLSConfig is the Config of TLSFiles that are never reloaded.
func NewTLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	f, err := NewTLSFiles(certFile, keyFile, clientCAFile)
	if err != nil {
		return nil, err
	}
	return f.Config(), nil
}

// Reload re-reads the files; on an error the previous material stays.
func (f *TLSFiles) Reload() error {
	cfg, err := readTLSFiles(f.certFile, f.keyFile, f.clientCAFile)
	if err != nil {
		return err
	}
	f.current.Store(cfg)
	return nil
}

// Config is the listeners' configuration: each handshake takes the
// material of the latest successful load. Its ClientCAs are those of the
// first load (they tell the server that client certificates are verified).
func (f *TLSFiles) Config() *tls.Config {
	first := f.current.Load()
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ClientCAs:  first.ClientCAs,
		ClientAuth: first.ClientAuth,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return f.current.Load(), nil
		},
	}
}

func readTLSFiles(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if clientCAFile != "" {
		caPEM, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("client CA file %s: holds no PEM certificate", clientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// listenerTLS is base for one listener: its ALPN protocols and TLS 1.2 at
// least, also on the configuration that GetConfigForClient picks per
// handshake (which would otherwise replace the listener's protocols).
func listenerTLS(base *tls.Config, protos ...string) *tls.Config {
	fix := func(c *tls.Config) {
		for _, p := range protos {
			if !slices.Contains(c.NextProtos, p) {
				c.NextProtos = append(c.NextProtos, p)
			}
		}
		if c.MinVersion < tls.VersionTLS12 {
			c.MinVersion = tls.VersionTLS12
		}
	}
	cfg := base.Clone()
	fix(cfg)
	if get := cfg.GetConfigForClient; get != nil {
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := get(hello)
			if err != nil || c == nil {
				return c, err
			}
			c = c.Clone()
			fix(c)
			return c, nil
		}
	}
	return cfg
}
