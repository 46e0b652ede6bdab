package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/server"
	"github.com/defender-gateway/gateway/internal/telemetry"
)

// Exit codes of the process.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// Main runs the process with the given arguments (without the program name)
// and environment, and returns its exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "healthcheck":
			return healthcheck(ctx, args[1:], getenv, stdout, stderr)
		case "hash-api-key":
			return hashAPIKey(args[1:], stdin, stdout, stderr)
		case "sandbox-token":
			return sandboxToken(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	cfg, err := config.Load(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, err)
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "defender-gateway:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, getenv, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "defender-gateway:", err)
		var cerr *configError
		if errors.As(err, &cerr) {
			return exitUsage
		}
		return exitFailed
	}
	return exitOK
}

// tracingFlushTimeout bounds the flush of the last spans at exit.
const tracingFlushTimeout = 5 * time.Second

// configError marks a configuration that failed validation.
type configError struct{ err error }

func (e *configError) Error() string { return "invalid configuration:\n" + e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func run(ctx context.Context, cfg *config.Config, getenv func(string) string, stdout, stderr io.Writer) error {
	logger := newLogger(stderr, cfg.LogLevel)
	// Tracing is off (a no-op provider) unless the OTEL_* variables
	// configure it; the spans left are flushed on the way out.
	tracing, err := telemetry.StartTracing(ctx, getenv)
	if err != nil {
		return err
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracingFlushTimeout)
		defer cancel()
		if err := tracing.Shutdown(flush); err != nil {
			logger.Warn("flushing the last spans failed", "error", err)
		}
	}()
	if tracing.Enabled() {
		logger.Info("tracing on", "exporter", getenv("OTEL_TRACES_EXPORTER"), "service_name", getenv("OTEL_SERVICE_NAME"))
	}
	deps := Dependencies{Logger: logger, TraceUpstream: tracing.Enabled()}
	if cfg.Sandbox {
		emu, err := emulator.Start(sandboxEmulatorOptions(cfg, logger.With("component", "emulator")))
		if err != nil {
			return fmt.Errorf("start emulator: %w", err)
		}
		defer emu.Close()
		useSandbox(cfg, emu)
		deps.HTTPClient = emu.HTTPClient()
		deps.Sandbox = sandboxRoutes(emu, logger.With("component", "sandbox"))
	}
	if err := cfg.Validate(); err != nil {
		return &configError{err}
	}
	logger.Info("effective configuration", "config", cfg)

	// The reloadable files as Build is about to read them: a change while
	// it starts is then seen (at worst one needless reload).
	var watchFrom map[string]fingerprint
	if cfg.ReloadWatchInterval > 0 {
		watchFrom = fingerprints(cfg.ReloadableFiles())
	}
	gw, err := Build(cfg, deps)
	if err != nil {
		return err
	}
	defer gw.Close()
	stopReloads := reloadOnSIGHUP(ctx, gw, logger)
	defer stopReloads()
	if cfg.ReloadWatchInterval > 0 {
		stopWatch := watchReloadableFiles(ctx, cfg.ReloadableFiles(), watchFrom, cfg.ReloadWatchInterval, gw.Reload, logger)
		defer stopWatch()
	}
	if cfg.Sandbox {
		printSandboxBanner(stdout, cfg, gw.Server.GRPCAddr(), gw.Server.HTTPAddr())
	}
	return gw.Server.Serve(ctx)
}

// reloadOnSIGHUP reloads the policy, API keys and TLS files on every SIGHUP until ctx
// ends or the returned stop is called.
func reloadOnSIGHUP(ctx context.Context, gw *Gateway, logger *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reloadAndLog(gw.Reload, logger, "trigger", "SIGHUP")
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}

// reloadAndLog runs reload and logs its outcome, with attrs saying what
// asked for it. It reports whether the reload succeeded.
func reloadAndLog(reload func() error, logger *slog.Logger, attrs ...any) bool {
	if err := reload(); err != nil {
		logger.Error("reload failed; the previous version of each failed file stays in force", append(attrs, "error", err)...)
		return false
	}
	logger.Info("policy, API keys and TLS files reloaded", attrs...)
	return true
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(server.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})))
}
