// Command loadcheck is scripts/load.sh's helper: it finds free ports,
// probes throttled calls for their RetryInfo, runs the steady caller of the
// fairness run, and reads ghz reports, the emulator's stats and the
// gateway's /metrics. Each subcommand prints one JSON object (or plain
// ports) on stdout; a failed property is a non-zero exit with the reason on
// stderr. Run it as `go run ./scripts/loadcheck SUBCOMMAND -h`.
package main
