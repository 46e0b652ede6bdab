// Command server builds the defender-gateway binary
// (go build -o defender-gateway ./cmd/server). `defender-gateway --sandbox`
// runs it on the in-process emulator; `defender-gateway -h` lists the flags
// and the subcommands (healthcheck, hash-api-key, sandbox-token). See
// README.md.
package main

import (
	"context"
	"os"

	"github.com/defender-gateway/gateway/internal/app"
)

func main() {
	os.Exit(app.Main(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
