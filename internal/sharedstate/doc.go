// Package sharedstate is what several gateway replicas share through Redis
// besides the quota (internal/quota/redisstore): the connection itself
// (Open), the page-token key (PageTokenKey) and versioned blobs with
// compare-and-swap (Blobs), which keep the encrypted MSAL account caches of
// the device-code sign-ins.
package sharedstate
