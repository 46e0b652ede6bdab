// Package defender is the gateway's client side of Microsoft Defender XDR.
//
// It defines the backend-neutral domain types (Incident, Alert, the hunting
// result), the Backend interface with one implementation per upstream API,
// the options every client takes, the token sources that authenticate those
// calls through MSAL (package credentials), and the typed Error every
// upstream failure becomes.
//
// The implementations live in subpackages: graph is the Microsoft Graph
// security API, the default; xdr is the retiring Defender XDR API; upstream
// is the HTTP core and wire mapping both share; backends chooses one by
// kind (backends.New, a BackendFactory).
//
// Every client takes an injected *http.Client, so tests and the sandbox point
// the real code path at the emulator.
package defender
