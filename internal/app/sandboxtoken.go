package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// sandboxTokenPath is the sandbox's user-token route on the HTTP listener:
// POST with the form field user (alice, bob, carol or a UPN) answers a
// v2.0 access token of that emulator user for the gateway's own API (the
// token a client app would get by signing the user in), as text.
const sandboxTokenPath = "/sandbox/token"

// Limits of the sandbox token route.
const (
	maxSandboxTokenRequest = 4 << 10
	sandboxTokenTimeout    = 5 * time.Second
)

// sandboxRoutes serves /sandbox/ for the sandbox only: the emulator signs
// the tokens with its per-process key, so nothing outside this process can
// make them. It is mounted on the HTTP listener outside /v1/, like
// /healthz: a sandbox user needs a token before calling the API.
func sandboxRoutes(emu *emulator.Emulator, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+sandboxTokenPath, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxSandboxTokenRequest)
		w.Header().Set("Cache-Control", "no-store")
		if err := r.ParseForm(); err != nil {
			http.Error(w, "the form is malformed or larger than 4 KiB", http.StatusBadRequest)
			return
		}
		upn, ok := sandboxUser(r.PostForm.Get("user"))
		if !ok {
			http.Error(w, "user must be one of "+strings.Join(sandboxUserNames(), ", ")+" (or their UPNs)", http.StatusBadRequest)
			return
		}
		token, err := emu.UserToken(emulator.UserTokenSpec{UPN: upn})
		if err != nil {
			logger.Error("sandbox user token failed", "user", upn, "error", err)
			http.Error(w, "the emulator could not issue the token", http.StatusInternalServerError)
			return
		}
		// The record names the user, never the token.
		logger.Info("sandbox user token issued", "log", "audit", "route", sandboxTokenPath, "user", upn, "remote", r.RemoteAddr)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, token+"\n")
	})
	// The emulator's control API: fault injection and counters (see
	// docs/emulator.md#control-api).
	mux.Handle(sandboxEmulatorPath, emu.ControlHandler(sandboxEmulatorPath))
	return http.TimeoutHandler(mux, sandboxTokenTimeout, "the sandbox route timed out")
}

// sandboxUser resolves alice, bob or carol (case-insensitive) or a sandbox
// UPN.
func sandboxUser(name string) (string, bool) {
	name = strings.TrimSpace(name)
	for _, u := range identity.Users() {
		short, _, _ := strings.Cut(u.UPN, "@")
		if strings.EqualFold(name, u.UPN) || strings.EqualFold(name, short) {
			return u.UPN, true
		}
	}
	return "", false
}

func sandboxUserNames() []string {
	var names []string
	for _, u := range identity.Users() {
		short, _, _ := strings.Cut(u.UPN, "@")
		names = append(names, short)
	}
	return names
}

// sandboxToken is the sandbox-token subcommand: it asks a running sandbox
// gateway's token route for a user token and prints it.
func sandboxToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sandbox-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "the emulator user: "+strings.Join(sandboxUserNames(), ", ")+", or a UPN")
	addr := getenv("DEFENDER_HTTP_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	base := fs.String("url", "http://"+dialable(addr), "base URL of the sandbox gateway's HTTP listener (default from DEFENDER_HTTP_ADDR)")
	caFile := fs.String("ca-file", "", "PEM bundle to verify an https --url with (default: the system's, SSL_CERT_FILE)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: defender-gateway sandbox-token --user alice [--url http://localhost:8080]\n"+
			"Prints an access token of an emulator user for the gateway's API, from a running\n"+
			"`defender-gateway --sandbox`. Use it as `authorization: Bearer <token>` (on-behalf-of,\n"+
			"or the caller's identity in jwt mode).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *user == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "sandbox-token: --user is required (one of "+strings.Join(sandboxUserNames(), ", ")+") and takes no arguments")
		return exitUsage
	}
	u, err := url.Parse(strings.TrimSuffix(*base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "sandbox-token: --url %q is not an http(s) URL\n", *base)
		return exitUsage
	}
	client, err := sandboxTokenClient(*caFile, *timeout)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox-token:", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String()+sandboxTokenPath,
		strings.NewReader(url.Values{"user": {*user}}.Encode()))
	if err != nil {
		fmt.Fprintln(stderr, "sandbox-token:", err)
		return exitUsage
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "sandbox-token: no sandbox gateway answered at %s (start one with `defender-gateway --sandbox`): %v\n", u, err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		fmt.Fprintln(stderr, "sandbox-token: reading the answer:", err)
		return exitFailed
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(body))
		if resp.StatusCode == http.StatusNotFound {
			msg = "the gateway at " + u.String() + " is not running with --sandbox"
		}
		fmt.Fprintf(stderr, "sandbox-token: %s: %s\n", resp.Status, msg)
		return exitFailed
	}
	_, _ = stdout.Write(body)
	return exitOK
}

// sandboxTokenClient is an HTTP client trusting caFile when given.
func sandboxTokenClient(caFile string, timeout time.Duration) (*http.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil // the sandbox is local
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file: %s holds no PEM certificate", caFile)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: transport, Timeout: timeout}, nil
}
