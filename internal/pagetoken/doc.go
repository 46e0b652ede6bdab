// Package pagetoken makes the opaque page tokens of list methods.
//
// A token is the base64url (unpadded) encoding of
//
//	version (1 byte) | payload (JSON) | HMAC-SHA256(key, version|payload) (32 bytes)
//
// The payload is whatever the caller encodes: the incident service puts the
// backend's cursor, a fingerprint of the request and the issue time in it.
// Decode verifies the tag in constant time before it parses anything, so a
// caller can only send back tokens the gateway issued, unchanged.
//
// Tokens are signed, not encrypted. What matters is integrity: a caller must
// not be able to steer the gateway's next upstream call by editing a cursor,
// nor reuse a token with another request. Confidentiality is not needed, because
// a cursor carries nothing the caller does not already know: a skip count, or
// an upstream next-page link that holds the API base URL (also reported by
// ListContexts), the caller's own filters, and the upstream's opaque skip
// token for the caller's own query. It never carries a credential, a bearer
// token or data of another tenant. Callers must still treat tokens as opaque:
// their layout may change with the version byte, and a token of an unknown
// version is rejected as invalid.
//
// The key must be shared by every replica that may receive a follow-up call;
// NewRandom's per-process key suits a single replica, and its tokens stop
// verifying when the process restarts.
package pagetoken
