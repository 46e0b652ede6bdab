// Package app assembles the gateway process: it loads and validates the
// configuration, starts the emulator in sandbox mode, builds the upstream
// HTTP client, token source, auth contexts and RPC services, and runs the
// server until a signal asks it to stop. It also implements the healthcheck
// subcommand. cmd/server only calls Main.
package app
