// Command go is the Go example client of Defender Gateway: it calls a
// gateway (the sandbox by default, at localhost:50051, or
// GATEWAY_GRPC_ADDR) through the generated stubs of gen/defender/v1, as a
// service in Go would. It lists incidents, gets one, runs a hunting query,
// streams a larger one (StreamQuery), and shows the error model: an
// INVALID_ARGUMENT whose ErrorInfo and BadRequest come from the status
// details. The last lines it prints are a fixed summary that
// scripts/examples.sh checks.
//
//	GATEWAY_GRPC_ADDR=localhost:50051 go run ./examples/go
package main
