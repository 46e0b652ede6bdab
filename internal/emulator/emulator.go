// Package emulator runs local fakes of Microsoft Entra ID, Microsoft Graph
// security and the Defender XDR API over HTTPS, for tests and for
// `defender-gateway --sandbox`.
//
// Start generates a throwaway CA and serves three loopback listeners with
// certificates from it: the Entra authority (a real OAuth/OpenID endpoint
// MSAL Go can sign in against: client credentials for apps, on-behalf-of,
// device code and refresh tokens for the sandbox users), Graph and XDR. The
// API servers require a bearer token the authority issued for their
// audience; delegated tokens are bounded by the user's rights and incident
// scope. UserToken makes user tokens for the gateway API. Every request is
// logged (Requests); faults can be injected per API, route and tenant
// (InjectFault); Options.Limits enforces the documented rate limits per
// tenant; Stats counts accepted requests and 429s; ControlHandler serves
// faults and stats over HTTP. UpdateIncident, CreateIncident,
// RedirectIncident and UpdateAlert change incidents and their alerts
// directly, as the portal would, and SetListingLag makes the incident and
// alert lists show changes late. Graph serves the incidents' alerts as
// alerts_v2 too (package graphapi).
package emulator

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/entra"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// Options configures Start. The zero value is ready to use.
type Options struct {
	// Now is the emulator's clock, used to issue and check tokens, seed the
	// fake data and stamp the request log (default time.Now). TLS
	// certificates always use the real clock.
	Now func() time.Time
	// TokenLifetime is the access-token lifetime (default 1h).
	TokenLifetime time.Duration
	// DeviceCodeLifetime is how long device codes stay valid (default 900 s).
	DeviceCodeLifetime time.Duration
	// Logger receives debug logs of requests and token decisions (default:
	// discard).
	Logger *slog.Logger

	// Limits, when set, makes the emulator enforce (or with ObserveOnly
	// only track) rate limits per tenant; DocumentedLimits returns the
	// documented ones. Without it Stats still counts requests and 429s.
	Limits *Limits

	// apis, when set, replaces mountAPIs (for tests of this package).
	apis func(now time.Time) (graph, xdr http.Handler)
}

// Emulator is a running set of fake servers. Its methods are safe for
// concurrent use.
type Emulator struct {
	now    func() time.Time
	logger *slog.Logger
	pki    *pki
	entra  *entra.Server

	transport     *http.Transport
	servers       []*http.Server
	serving       sync.WaitGroup
	done          chan struct{}
	closeOnce     sync.Once
	closeErr      error
	authorityHost string
	graphBase     string
	xdrBase       string

	requests    requestLog
	faults      faultSet
	limiter     limiter
	huntingRows *atomic.Int64
	// store is the incident data behind Graph and XDR; nil when
	// Options.apis replaced them.
	store *store.Store
}

// shutdownTimeout bounds how long Close waits for in-flight requests.
const shutdownTimeout = 5 * time.Second

// Start generates the emulator's keys and certificates and starts its three
// servers on 127.0.0.1 with OS-chosen ports.
func Start(opts Options) (*Emulator, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	huntingRows := new(atomic.Int64)
	var st *store.Store
	if opts.apis == nil {
		opts.apis = func(now time.Time) (graph, xdr http.Handler) {
			graph, xdr, st = mountAPIs(now)
			huntingRows = st.HuntingRowsCounter()
			return graph, xdr
		}
	}
	keys, err := newPKI()
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e := &Emulator{
		now:     opts.Now,
		logger:  opts.Logger,
		pki:     keys,
		done:    make(chan struct{}),
		limiter: limiter{limits: opts.Limits},
		transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: keys.pool, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
		},
	}

	listeners := make([]net.Listener, 0, 3)
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return nil, fmt.Errorf("emulator: listen: %w", err)
		}
		listeners = append(listeners, ln)
	}
	e.authorityHost = "https://" + listeners[0].Addr().String()
	e.graphBase = "https://" + listeners[1].Addr().String()
	e.xdrBase = "https://" + listeners[2].Addr().String()

	authority, err := entra.New(entra.Config{
		Tenants:            entra.SandboxTenants(),
		Apps:               entra.SandboxApps(keys.clientCert),
		Resources:          entra.SandboxResources(),
		Now:                opts.Now,
		TokenLifetime:      opts.TokenLifetime,
		Logger:             opts.Logger,
		AuthorityHost:      e.authorityHost,
		DeviceCodeLifetime: opts.DeviceCodeLifetime,
	})
	if err != nil {
		for _, l := range listeners {
			_ = l.Close()
		}
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e.entra = authority

	graph, xdr := opts.apis(opts.Now())
	e.huntingRows = huntingRows
	e.store = st
	handlers := []http.Handler{
		e.recordRequests(APIEntra, e.entraTenant(e.injectFaults(APIEntra, authority))),
		e.recordRequests(APIGraph, e.injectFaults(APIGraph, e.requireToken(graphAuth, e.enforceLimits(APIGraph, graph)))),
		e.recordRequests(APIXDR, e.injectFaults(APIXDR, e.requireToken(xdrAuth, e.enforceLimits(APIXDR, xdr)))),
	}
	for i, ln := range listeners {
		e.serve(ln, handlers[i])
	}
	return e, nil
}

// AuthorityHost is the Entra authority's base URL, https://127.0.0.1:port.
// MSAL authorities are AuthorityHost()+"/"+tenant.
func (e *Emulator) AuthorityHost() string { return e.authorityHost }

// GraphURL is the Graph base URL including the version, https://127.0.0.1:port/v1.0.
func (e *Emulator) GraphURL() string { return e.graphBase + "/v1.0" }

// XDRURL is the Defender XDR API base URL, https://127.0.0.1:port (paths
// start with /api).
func (e *Emulator) XDRURL() string { return e.xdrBase }

// CACertPEM returns the PEM of the CA that issued the servers' certificates.
func (e *Emulator) CACertPEM() []byte { return append([]byte(nil), e.pki.caPEM...) }

// CertPool returns a new pool holding the emulator's CA.
func (e *Emulator) CertPool() *x509.CertPool { return e.pki.pool.Clone() }

// HTTPClient returns a new *http.Client that trusts the emulator's CA. All
// clients share one transport (so connections are reused and Close can
// release them); callers may change the returned client's fields freely.
func (e *Emulator) HTTPClient() *http.Client { return &http.Client{Transport: e.transport} }

// ClientCertificatePEM returns the sandbox app's (identity.ClientID)
// certificate and its PKCS#8 private key as "CERTIFICATE" and "PRIVATE KEY"
// PEM blocks, as confidential.CertFromPEM reads them.
func (e *Emulator) ClientCertificatePEM() []byte { return append([]byte(nil), e.pki.clientPEM...) }

// Entra returns the fake authority, for token counters and token checks.
func (e *Emulator) Entra() *entra.Server { return e.entra }

// UserTokenSpec describes a user access token for UserToken.
type UserTokenSpec = entra.UserTokenSpec

// UserToken returns a signed v2.0 user access token as a client would
// present it to the gateway (see entra.UserTokenSpec for the defaults). The
// device code controls (ApproveDeviceCode, DeclineDeviceCode,
// ExpireDeviceCode) and RevokeRefreshTokens are on Entra().
func (e *Emulator) UserToken(spec UserTokenSpec) (string, error) { return e.entra.UserToken(spec) }

// HuntingRowsWritten returns how many result rows the Graph and XDR hunting
// endpoints have written to response bodies since Start. Rows are counted as
// they are encoded into the body, which is flushed every 64 KiB, so a client
// that stops reading holds the count back, and one that disconnects stops
// it.
func (e *Emulator) HuntingRowsWritten() int64 { return e.huntingRows.Load() }

// Requests returns a copy of the request log, oldest first.
func (e *Emulator) Requests() []Request { return e.requests.snapshot() }

// ResetRequests empties the request log.
func (e *Emulator) ResetRequests() { e.requests.reset() }

// TokenRequests returns how many POSTs to a token endpoint the request log
// holds (including any answered by a fault).
func (e *Emulator) TokenRequests() int {
	n := 0
	for _, r := range e.requests.snapshot() {
		if isTokenRequest(r) {
			n++
		}
	}
	return n
}

// InjectFault adds f; the first fault added that matches a request applies.
// Call remove to withdraw it early. A Status outside 200–599 is answered as
// 500.
func (e *Emulator) InjectFault(f Fault) (remove func()) {
	id := e.AddFault(f)
	return func() { e.faults.remove(id) }
}

// AddFault is InjectFault returning the fault's id, for RemoveFault and
// Faults.
func (e *Emulator) AddFault(f Fault) int {
	if f.Status != 0 && (f.Status < 200 || f.Status > 599) {
		f.Message = fmt.Sprintf("Invalid injected fault status %d. %s", f.Status, f.Message)
		f.Status = http.StatusInternalServerError
	}
	return e.faults.add(f)
}

// RemoveFault removes the fault with id and reports whether it was there.
func (e *Emulator) RemoveFault(id int) bool { return e.faults.remove(id) }

// Faults lists the faults in force, in matching order.
func (e *Emulator) Faults() []ActiveFault { return e.faults.list() }

// ClearFaults removes all faults.
func (e *Emulator) ClearFaults() { e.faults.clear() }
