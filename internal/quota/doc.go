// Package quota schedules the gateway's upstream requests within the
// Defender API's throttling limits: a client-side budget per tenant and API
// family, shared fairly between callers, with a reserved share for
// interactive calls, deadline-aware admission, and holds that an upstream
// 429 sets. Its state lives in a Store: in memory for one replica, or in
// Redis for several.
package quota
