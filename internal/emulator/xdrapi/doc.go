// Package xdrapi is the emulator's fake Microsoft Defender XDR API
// (api.security.microsoft.com): /api/incidents (list, get, update) and
// /api/advancedhunting/run, over the shared [store.Store].
//
// The handler expects the emulator's token middleware to have verified the
// bearer token and put its claims in the request context (see package
// claims); it serves only the calling tenant's data and checks the XDR
// permissions per operation. Wire formats follow reference §4–6; choices
// where the documentation is silent are listed in docs/emulator-apis.md.
package xdrapi
