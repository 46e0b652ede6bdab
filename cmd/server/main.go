// Command server runs Defender Gateway. `server --sandbox` runs it on the
// in-process emulator; `server healthcheck` probes a running server (used by
// the container health check). See README.md.
package main

import (
	"context"
	"os"

	"github.com/defender-gateway/gateway/internal/app"
)

func main() {
	os.Exit(app.Main(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
