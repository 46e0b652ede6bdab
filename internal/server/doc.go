// Package server is the gateway's transport: the gRPC server with its
// interceptor chain, health and reflection, and the HTTP server that serves
// the REST/JSON API (grpc-gateway v2, calling the gRPC server over loopback so
// that REST requests pass the same interceptors), the OpenAPI document,
// /healthz and /metrics. It knows nothing of Defender: the RPC services are
// handed in already built.
package server
