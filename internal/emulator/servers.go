package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// serve runs an HTTP/1.1-only TLS server on ln (HTTP/1.1 so that faults can
// hijack connections).
func (e *Emulator) serve(ln net.Listener, h http.Handler) {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	srv := &http.Server{
		Handler:           h,
		Protocols:         protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.logger.Handler(), slog.LevelDebug),
	}
	tlsLn := tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{e.pki.serverCert},
		MinVersion:   tls.VersionTLS12,
	})
	e.servers = append(e.servers, srv)
	e.serving.Add(1)
	go func() {
		defer e.serving.Done()
		if err := srv.Serve(tlsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.logger.Error("emulator: server stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
}

// Close stops the servers, waiting up to 5s for in-flight requests (delayed
// faults return at once), and releases the HTTP client's idle connections.
// It is safe to call more than once.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		close(e.done)
		// Idle client connections first: a connection dialled for a burst
		// but never used is "new" to the server, and Shutdown would wait
		// seconds for it.
		e.transport.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		var errs []error
		for _, srv := range e.servers {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, err, srv.Close())
			}
		}
		e.serving.Wait()
		e.transport.CloseIdleConnections()
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// entraTenant records the tenant in an Entra request's path (resolved to its
// ID when known).
func (e *Emulator) entraTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segment, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if id, ok := e.entra.ResolveTenant(segment); ok {
			segment = id
		}
		setRequestTenant(r.Context(), segment)
		next.ServeHTTP(w, r)
	})
}
