// Package graphapi is the emulator's fake Microsoft Graph v1.0 security API:
// incidents (list, get, update, comment), alerts_v2 (list, get, update,
// comment) and runHuntingQuery, over the shared [store.Store]. Alerts are
// the ones embedded in the store's incidents, so a change through either
// resource shows in the other.
//
// The handler expects the emulator's token middleware to have verified the
// bearer token and put its claims in the request context (see package
// claims); it serves only the calling tenant's data and checks the Graph
// permissions per operation. Wire formats follow the Graph documentation
// (reference §7); choices where it is silent are listed in
// docs/emulator-apis.md.
package graphapi
