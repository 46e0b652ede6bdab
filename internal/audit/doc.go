// Package audit writes one structured record per API call: who called
// (the authenticated identity), in which auth context and tenant, which
// operation on which resource, the result code and reason, and the latency.
// Calls refused by authentication or authorization are recorded too.
// Records never hold a key, a token or a secret; a hunting query is recorded
// by its SHA-256, and its text only when configured.
package audit
