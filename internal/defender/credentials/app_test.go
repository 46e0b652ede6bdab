package credentials

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

const graphScope = identity.GraphResource + "/.default"

func startEmulator(t *testing.T) *emulator.Emulator {
	t.Helper()
	e, err := emulator.Start(emulator.Options{})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// appOptions are the options of the emulator's sandbox app with a secret.
func appOptions(e *emulator.Emulator) AppOptions {
	return AppOptions{
		AuthorityHost: e.AuthorityHost(),
		TenantID:      identity.HomeTenantID,
		ClientID:      identity.ClientID,
		ClientSecret:  identity.ClientSecret,
		Scope:         graphScope,
		HTTPClient:    e.HTTPClient(),
	}
}

func newApp(t *testing.T, opts AppOptions) *App {
	t.Helper()
	app, err := NewApp(opts)
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	return app
}

func TestAppTokenAndCache(t *testing.T) {
	e := startEmulator(t)
	withCert := func(o AppOptions) AppOptions {
		o.ClientSecret, o.CertificatePEM = "", e.ClientCertificatePEM()
		return o
	}
	tests := []struct {
		name     string
		opts     AppOptions
		wantKind string
	}{
		{"secret", appOptions(e), KindClientSecret},
		{"certificate", withCert(appOptions(e)), KindCertificate},
		{"tenant as domain", func() AppOptions { o := appOptions(e); o.TenantID = identity.HomeTenantDomain; return o }(), KindClientSecret},
		{"certificate, tenant as domain", func() AppOptions { o := withCert(appOptions(e)); o.TenantID = identity.HomeTenantDomain; return o }(), KindCertificate},
		{"xdr scope", func() AppOptions { o := appOptions(e); o.Scope = identity.XDRResource + "/.default"; return o }(), KindClientSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newApp(t, tt.opts)
			if got := app.CredentialKind(); got != tt.wantKind {
				t.Errorf("CredentialKind() = %q, want %q", got, tt.wantKind)
			}
			before := e.TokenRequests()
			token, err := app.Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if got := e.TokenRequests() - before; got != 1 {
				t.Errorf("first Token made %d token requests, want 1", got)
			}
			claims, err := e.Entra().Verify(token)
			if err != nil {
				t.Fatalf("the emulator does not accept the token: %v", err)
			}
			wantAud := strings.TrimSuffix(tt.opts.Scope, "/.default")
			if claims.Audience != wantAud || claims.TenantID != identity.HomeTenantID || claims.AppID != identity.ClientID {
				t.Errorf("claims = %+v, want aud %s, tid %s, appid %s", claims, wantAud, identity.HomeTenantID, identity.ClientID)
			}

			before = e.TokenRequests()
			again, err := app.Token(context.Background())
			if err != nil {
				t.Fatalf("second Token: %v", err)
			}
			if got := e.TokenRequests() - before; got != 0 || again != token {
				t.Errorf("second Token made %d token requests (same token: %v), want 0 from the cache", got, again == token)
			}
		})
	}
}

func TestAppRejected(t *testing.T) {
	e := startEmulator(t)
	const wrongSecret = "wrong-secret-3a9f1c77e2"
	tests := []struct {
		name        string
		mutate      func(*AppOptions)
		wantCode    string
		wantAADSTS  string
		wantMessage string
	}{
		{
			name:        "wrong secret",
			mutate:      func(o *AppOptions) { o.ClientSecret = wrongSecret },
			wantCode:    "invalid_client",
			wantAADSTS:  "AADSTS7000215",
			wantMessage: "Entra ID rejected the gateway's credentials (invalid_client, AADSTS7000215)",
		},
		{
			name: "unknown client",
			mutate: func(o *AppOptions) {
				o.ClientID = "99999999-9999-4999-8999-999999999999"
				o.ClientSecret = wrongSecret
			},
			wantCode:   "unauthorized_client",
			wantAADSTS: "AADSTS700016",
		},
		{
			name:       "scope without .default",
			mutate:     func(o *AppOptions) { o.Scope = identity.GraphResource + "/SecurityIncident.Read.All" },
			wantAADSTS: "AADSTS70011",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := appOptions(e)
			tt.mutate(&opts)
			_, err := newApp(t, opts).Token(context.Background())
			de := wantError(t, err, defender.KindUpstreamAuth, defender.ReasonTokenAcquisition)
			if !strings.Contains(de.Message, tt.wantAADSTS) {
				t.Errorf("Message = %q, want it to name %s", de.Message, tt.wantAADSTS)
			}
			if tt.wantCode != "" && (de.UpstreamCode != tt.wantCode || !strings.Contains(de.Message, tt.wantCode)) {
				t.Errorf("UpstreamCode = %q, Message = %q; want code %s in both", de.UpstreamCode, de.Message, tt.wantCode)
			}
			if tt.wantMessage != "" && !strings.HasPrefix(de.Message, tt.wantMessage) {
				t.Errorf("Message = %q, want prefix %q", de.Message, tt.wantMessage)
			}
			if de.UpstreamStatus < 400 || de.UpstreamStatus > 499 {
				t.Errorf("UpstreamStatus = %d, want a 4xx", de.UpstreamStatus)
			}
			var call msalerrors.CallErr
			if errors.As(err, &call) {
				t.Error("the error chain keeps MSAL's CallErr, whose request holds the credential")
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", de.Cause)} {
				if strings.Contains(text, opts.ClientSecret) {
					t.Errorf("error text holds the client secret: %s", text)
				}
			}
		})
	}
}

func TestAppTenantWithoutConsentIsFailedPrecondition(t *testing.T) {
	e := startEmulator(t)
	opts := appOptions(e)
	opts.TenantID = identity.ThirdTenantDomain
	_, err := newApp(t, opts).Token(context.Background())
	de := wantError(t, err, defender.KindFailedPrecondition, defender.ReasonConsentRequired)
	for _, want := range []string{identity.ThirdTenantDomain, "AADSTS65001"} {
		if !strings.Contains(de.Message, want) {
			t.Errorf("Message = %q, want it to name %s", de.Message, want)
		}
	}
	if de.UpstreamStatus != 400 || de.UpstreamCode != "invalid_grant" {
		t.Errorf("upstream = %d %q, want 400 invalid_grant", de.UpstreamStatus, de.UpstreamCode)
	}
}

func TestAppConcurrentColdCallsShareOneRequest(t *testing.T) {
	e := startEmulator(t)
	app := newApp(t, appOptions(e))
	// Slow the token endpoint so that every caller arrives while the first
	// request is in flight.
	defer e.InjectFault(emulator.Fault{API: emulator.APIEntra, PathPrefix: "/" + identity.HomeTenantID + "/oauth2/", Delay: 200 * time.Millisecond})()

	const callers = 20
	tokens := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { tokens[i], errs[i] = app.Token(context.Background()) })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || tokens[i] != tokens[0] {
			t.Fatalf("caller %d: token equal to the first: %v, err %v", i, tokens[i] == tokens[0], errs[i])
		}
	}
	if got := e.TokenRequests(); got != 1 {
		t.Errorf("%d concurrent cold calls made %d token requests, want 1", callers, got)
	}
}

func TestAppCallerGivingUpDoesNotFailOthers(t *testing.T) {
	tests := []struct {
		name     string
		giveUp   func(context.Context) (context.Context, context.CancelFunc)
		wantKind defender.ErrorKind
	}{
		{"canceled", func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, defender.KindCanceled},
		{"deadline", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 50*time.Millisecond)
		}, defender.KindDeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEmulator(t)
			app := newApp(t, appOptions(e))
			defer e.InjectFault(emulator.Fault{API: emulator.APIEntra, PathPrefix: "/" + identity.HomeTenantID + "/oauth2/", Delay: 400 * time.Millisecond})()

			// The impatient caller goes first, so its context is the one
			// the shared acquisition starts from.
			ctx, cancel := tt.giveUp(context.Background())
			defer cancel()
			impatient := make(chan error, 1)
			go func() { _, err := app.Token(ctx); impatient <- err }()
			time.Sleep(10 * time.Millisecond)

			const others = 3
			var wg sync.WaitGroup
			errs := make([]error, others)
			for i := range others {
				wg.Go(func() { _, errs[i] = app.Token(context.Background()) })
			}
			wantError(t, <-impatient, tt.wantKind, "")
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("patient caller %d failed: %v", i, err)
				}
			}
			if got := e.TokenRequests(); got != 1 {
				t.Errorf("made %d token requests, want 1", got)
			}
		})
	}
}

func TestAppAuthorityUnavailable(t *testing.T) {
	tests := []struct {
		name  string
		fault emulator.Fault
	}{
		{"503", emulator.Fault{API: emulator.APIEntra, Status: 503}},
		{"connection reset", emulator.Fault{API: emulator.APIEntra, Reset: true}},
	}
	for _, tt := range tests {
		for _, warm := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, discovery done %v", tt.name, warm), func(t *testing.T) {
				e := startEmulator(t)
				opts := appOptions(e)
				opts.Scope = identity.XDRResource + "/.default"
				app := newApp(t, opts)
				if warm {
					// Discovery succeeds; a second app shares nothing with
					// the first, so the fault hits its token request.
					if _, err := app.Token(context.Background()); err != nil {
						t.Fatal(err)
					}
					opts.Scope = graphScope
					app = newApp(t, opts)
				}
				defer e.InjectFault(tt.fault)()
				_, err := app.Token(context.Background())
				wantError(t, err, defender.KindUnavailable, defender.ReasonUnavailable)
			})
		}
	}
}

func TestAppAcquireTimeout(t *testing.T) {
	e := startEmulator(t)
	opts := appOptions(e)
	opts.AcquireTimeout = 100 * time.Millisecond
	app := newApp(t, opts)
	defer e.InjectFault(emulator.Fault{API: emulator.APIEntra, Delay: 5 * time.Second})()
	_, err := app.Token(context.Background())
	de := wantError(t, err, defender.KindUnavailable, defender.ReasonUnavailable)
	if !strings.Contains(de.Message, "100ms") {
		t.Errorf("Message = %q, want it to name the 100ms bound", de.Message)
	}
}

// wantError asserts err is a *defender.Error of kind and, unless empty,
// reason, and returns it.
func wantError(t *testing.T, err error, kind defender.ErrorKind, reason string) *defender.Error {
	t.Helper()
	de, ok := defender.AsError(err)
	if !ok {
		t.Fatalf("err = %v (%T), want a *defender.Error", err, err)
	}
	if de.Kind != kind || (reason != "" && de.Reason != reason) {
		t.Fatalf("err = kind %d reason %s (%v), want kind %d reason %s", de.Kind, de.Reason, err, kind, reason)
	}
	return de
}
