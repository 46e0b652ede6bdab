package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/server"
)

// Exit codes of the process.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// Main runs the process with the given arguments (without the program name)
// and environment, and returns its exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
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
	if err := run(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "defender-gateway:", err)
		var cerr *configError
		if errors.As(err, &cerr) {
			return exitUsage
		}
		return exitFailed
	}
	return exitOK
}

// configError marks a configuration that failed validation.
type configError struct{ err error }

func (e *configError) Error() string { return "invalid configuration:\n" + e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func run(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) error {
	logger := newLogger(stderr, cfg.LogLevel)
	deps := Dependencies{Logger: logger}
	if cfg.Sandbox {
		emu, err := emulator.Start(emulator.Options{Logger: logger.With("component", "emulator")})
		if err != nil {
			return fmt.Errorf("start emulator: %w", err)
		}
		defer emu.Close()
		useSandbox(cfg, emu)
		deps.HTTPClient = emu.HTTPClient()
	}
	if err := cfg.Validate(); err != nil {
		return &configError{err}
	}
	logger.Info("effective configuration", "config", cfg)

	gw, err := Build(cfg, deps)
	if err != nil {
		return err
	}
	if cfg.Sandbox {
		printSandboxBanner(stdout, gw.Server.GRPCAddr(), gw.Server.HTTPAddr())
	}
	return gw.Server.Serve(ctx)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(server.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})))
}
