// Package server is the gateway's transport: the gRPC server with its
// interceptor chain (request ids, logging, metrics, audit, caller
// authentication, authorization, validation), health and reflection, and
// the HTTP server that serves the REST/JSON API (grpc-gateway v2), the
// OpenAPI document, /healthz and /metrics.
//
// The REST gateway calls the same gRPC server over an in-memory listener,
// so REST requests pass the same interceptors. Both listeners serve TLS
// when Options.TLS is set; in mtls mode the HTTP listener's verified client
// certificate reaches the gRPC side as internal metadata that is believed
// only on that in-memory connection. The package knows nothing of
// Defender: the RPC services are handed in already built.
package server
