// Command costbench measures the gateway's CPU time per call, side by side
// in one run with a direct client that makes the same upstream calls
// (issue 10, "Profile first"). See docs/benchmarks.md "CPU per call
// (scripts/costbench)".
//
// Every party runs in its own process, so that each CPU figure is one
// process's own: the emulator (this program re-executed in emulator mode),
// the gateway (./cmd/server built into a temporary directory, a fresh one
// for each path and operation), and the direct baseline (this program
// re-executed in direct mode: MSAL token, a pooled HTTPS transport, the
// body decoded into typed structs). The load comes from this process: ghz
// for gRPC, a loop of goroutines for REST. The CPU time is utime+stime
// from /proc/PID/stat, read before and after the load, divided by the calls
// made; the peak RSS is VmHWM from /proc/PID/status.
//
//	go run ./scripts/costbench                # the full run, Graph backend
//	go run ./scripts/costbench -backend xdr   # the XDR API
//	go run ./scripts/costbench -quick         # small call counts: proves it runs (.ci/run)
package main
