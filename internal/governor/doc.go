// Package governor stands between the service layer and the backends: it
// wraps every resolved target's Backend so that
//
//   - each upstream request of a call passes the quota scheduler, through a
//     defender.Gate put in the call's context (gate.go);
//   - identical concurrent reads (ListIncidents, GetIncident,
//     RunHuntingQuery, ListAlerts, GetAlert) share one upstream call
//     (flight.go), charged once to the quota with the first caller's
//     identity;
//   - successful incident and hunting reads may be served from a bounded
//     in-memory cache with a TTL per family, which an UpdateIncident or an
//     UpdateAlert through the gateway invalidates (cache.go); alert reads
//     are never cached (alerts.go).
//
// Reads are shared only between calls with the same key (key.go): tenant,
// backend kind, auth context and upstream identity (the signed-in or
// on-behalf-of user in the user context), and every field of the request.
// Results are never shared across identities whose rights may differ, and
// every caller gets its own deep copy (copy.go).
package governor
