// Package service implements the gateway's gRPC services: IncidentService,
// AlertService, HuntingService, AuthService and QuotaService of defender.v1.
//
// Handlers only translate. They parse resource names, check the semantics the
// proto's validation rules cannot express, turn proto messages into the
// domain types of package defender, call the Backend that the Resolver picks
// for the tenant, and turn the result back into proto messages. Every error
// leaves a handler through ToStatus (status.go), the one mapping from errors
// to gRPC statuses, after it has been logged with the request's context.
// QuotaService reads the scheduler's state through a QuotaReader and calls
// no Backend.
//
// Requests normally arrive checked by the protovalidate interceptor, but each
// handler is safe without it: nil messages, zero values and out-of-range
// enums are rejected with INVALID_ARGUMENT, never a panic.
package service
