// Package watch turns the upstream's incident listings into a stream of
// changes: one shared poller per (tenant, auth context, upstream identity,
// view) serves every watcher of it, on one replica or, with Redis, across
// all of them. A key of the alerts subject (Key.Subject) polls the
// upstream's alert listing (Graph alerts_v2) the same way, for
// AlertService.WatchAlerts.
//
// A poller advances a last-update watermark, never $skip. Each round lists
// the incidents updated since the watermark minus an overlap, so that
// clock skew and the upstream's timestamp precision cannot hide a change,
// and the watermark itself trails the clock by a visibility delay, so that
// a change the upstream lists late is still read. Changes are
// de-duplicated by (id, last-update time). When listing with alerts fails
// upstream (the persistent 500s of $expand=alerts on large tenants), the
// round lists without them and reads each changed incident's alerts on its
// own. Every upstream call goes through the caller's backend, so the quota
// scheduler admits it.
//
// A watcher's position is a watermark: every change last updated before
// it (since the watch started) has been delivered. Resuming from a position
// re-lists from it (minus the overlap) and then follows the live rounds;
// delivery is at least once, and what can repeat is the changes last
// updated within the overlap before the position.
package watch
