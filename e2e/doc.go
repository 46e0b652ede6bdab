// Package e2e is the gateway's end-to-end suite. It starts the emulator and
// the real gateway (config, MSAL, HTTPS upstream clients, gRPC and the REST
// gateway) on random loopback ports, and runs every case over gRPC and over
// REST, against both backends. Nothing in it is mocked.
package e2e
