// Package graph is the defender.Backend of the Microsoft Graph security API
// (reference §7), the default backend: incidents under /security/incidents,
// alerts under /security/alerts_v2 and advanced hunting through
// /security/runHuntingQuery, on the shared core of package upstream.
package graph
