// Package xdr is the defender.Backend of the Defender XDR API (reference
// §4–§6), which Microsoft retires on 2027-02-01: incidents under
// /api/incidents and advanced hunting through /api/advancedhunting/run, on
// the shared core of package upstream. It has no alerts endpoint: the alert
// methods fail with UNSUPPORTED_BY_BACKEND (alerts.go).
package xdr
