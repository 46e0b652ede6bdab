package audit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Options configure a Logger.
type Options struct {
	// QueryText puts a hunting query's text in its record, not only its
	// SHA-256.
	QueryText bool
	// RequestID returns the call's request id (server.RequestID).
	RequestID func(context.Context) string
}

// Logger writes audit records.
type Logger struct {
	log  *slog.Logger
	opts Options
}

// New writes the audit records to log.
func New(log *slog.Logger, opts Options) *Logger {
	if opts.RequestID == nil {
		opts.RequestID = func(context.Context) string { return "" }
	}
	return &Logger{log: log, opts: opts}
}

// ToMainLog writes the audit records to the main logger, each with the
// attribute log=audit.
func ToMainLog(main *slog.Logger, opts Options) *Logger {
	return New(main.With("log", "audit"), opts)
}

// OpenFile appends the audit records to a file as JSON lines (created with
// mode 0600 when missing). Close the returned closer at exit.
func OpenFile(path string, opts Options) (*Logger, io.Closer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("audit log file: %w", err)
	}
	return New(slog.New(slog.NewJSONHandler(f, nil)), opts), f, nil
}

// WithRequestID returns a copy of l that reads request ids with f; the
// server installs its own.
func (l *Logger) WithRequestID(f func(context.Context) string) *Logger {
	c := *l
	c.opts.RequestID = f
	return &c
}
