// Package defender is the gateway's client side of Microsoft Defender XDR.
//
// It defines the backend-neutral domain types (Incident, Alert, the hunting
// result), the Backend interface with one implementation per upstream API
// (the Microsoft Graph security API, the default, and the retiring Defender
// XDR API), the token sources that authenticate those calls through MSAL, and
// the typed Error every upstream failure becomes.
//
// Every client takes an injected *http.Client, so tests and the sandbox point
// the real code path at the emulator.
package defender
