package app

import (
	"errors"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// upstreamClient is the client of every upstream call (Entra ID and the
// API): the base client's transport (the default one when base is nil),
// traced when traced is set (otherwise otelhttp's per-request work, 32
// allocations, is not done), with every request bounded
// by timeout (a caller's shorter
// deadline still wins) and redirects refused. An *http.Transport is cloned
// to keep maxIdlePerHost idle connections per host: Go's default of 2
// makes a busy gateway pay a TLS handshake on most calls. closeIdle closes
// the idle connections of the transport it built.
func upstreamClient(base *http.Client, timeout time.Duration, maxIdlePerHost int, traced bool) (client *http.Client, closeIdle func()) {
	var transport http.RoundTripper = http.DefaultTransport
	if base != nil && base.Transport != nil {
		transport = base.Transport
	}
	closeIdle = func() {}
	if t, ok := transport.(*http.Transport); ok && maxIdlePerHost > 0 {
		own := t.Clone()
		own.MaxIdleConnsPerHost = maxIdlePerHost
		// MaxIdleConns bounds all hosts together: room for the API and
		// Entra ID at the per-host bound (0 stays unlimited).
		if own.MaxIdleConns != 0 && own.MaxIdleConns < 2*maxIdlePerHost {
			own.MaxIdleConns = 2 * maxIdlePerHost
		}
		transport, closeIdle = own, own.CloseIdleConnections
	}
	if traced {
		transport = otelhttp.NewTransport(transport)
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// Upstream redirects would carry the bearer token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("upstream redirects are not followed")
		},
	}, closeIdle
}
