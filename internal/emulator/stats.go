package emulator

import (
	"cmp"
	"slices"
)

// RouteStats are the counters of one API, tenant and route family since
// the emulator started (or ResetStats).
type RouteStats struct {
	// API is APIGraph or APIXDR; Route a Route constant (RouteWholeAPI sums
	// every route of the API); TenantID the token's tid.
	API      string
	TenantID string
	Route    string
	// Accepted counts the requests the limiter let through to the API.
	Accepted int
	// Limited counts the 429s the limiter sent (0 for RouteWholeAPI: a
	// refusal is counted on the route asked for).
	Limited int
	// Faulted429 counts the 429s injected faults sent.
	Faulted429 int
	// Windows are the configured limits of the route with the most
	// accepted requests any of them ever held (empty without Limits).
	Windows []WindowStats
}

// Throttled is every 429 the route's requests got, from the limiter or from
// faults.
func (s RouteStats) Throttled() int { return s.Limited + s.Faulted429 }

// WindowStats is one configured window and the peak it saw.
type WindowStats struct {
	Window
	// MaxAccepted is the most accepted requests the sliding window ever
	// held: the upstream rate the clients achieved against that limit.
	MaxAccepted int
}

// Stats returns the counters, ordered by API, tenant and route.
func (e *Emulator) Stats() []RouteStats {
	l := &e.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]RouteStats, 0, len(l.counters))
	for k, c := range l.counters {
		s := RouteStats{API: k.api, TenantID: k.tenant, Route: k.route,
			Accepted: c.accepted, Limited: c.limited, Faulted429: c.faulted429}
		for _, wl := range c.windows {
			s.Windows = append(s.Windows, WindowStats{Window: wl.w, MaxAccepted: wl.max})
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b RouteStats) int {
		return cmp.Or(cmp.Compare(a.API, b.API), cmp.Compare(a.TenantID, b.TenantID), cmp.Compare(a.Route, b.Route))
	})
	return out
}

// RouteStat returns the counters of one API, tenant and route (zero when
// none were counted).
func (e *Emulator) RouteStat(api, tenantID, route string) RouteStats {
	for _, s := range e.Stats() {
		if s.API == api && s.TenantID == tenantID && s.Route == route {
			return s
		}
	}
	return RouteStats{API: api, TenantID: tenantID, Route: route}
}

// ResetStats zeroes the counters and empties the sliding windows.
func (e *Emulator) ResetStats() {
	l := &e.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counters = nil
}
