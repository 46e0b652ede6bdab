// Command streambench measures a large advanced-hunting result through the
// gateway, side by side in one run: RunQuery against StreamQuery, and, as
// the baseline other integrations use, the same query fetched from the
// (emulated) upstream with a plain HTTP client that decodes the whole body.
//
// Each measurement runs in a fresh child process (the gateway binary, or
// this program in baseline mode), so that its peak RSS (VmHWM) is its own;
// the emulator runs in this process and the client calls are made from
// here. See docs/benchmarks.md "Streaming hunting results".
//
//	go run ./scripts/streambench -rows 1000,10000,100000
package main
