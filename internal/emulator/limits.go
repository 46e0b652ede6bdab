package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// The route families the limits and Stats are kept by. They carry the same
// names as the gateway's quota families.
const (
	// RouteIncidentList is listing incidents (GET .../incidents).
	RouteIncidentList = "incident-read"
	// RouteIncidentGet is reading one incident (GET .../incidents/{id}).
	RouteIncidentGet = "incident-get"
	// RouteIncidentWrite is updating one incident (PATCH .../incidents/{id})
	// and, on Graph, adding a comment (POST .../incidents/{id}/comments).
	RouteIncidentWrite = "incident-write"
	// RouteAlertList is listing alerts (Graph GET /v1.0/security/alerts_v2).
	RouteAlertList = "alert-read"
	// RouteAlertGet is reading one alert (Graph GET .../alerts_v2/{id}).
	RouteAlertGet = "alert-get"
	// RouteAlertWrite is updating one alert (Graph PATCH .../alerts_v2/{id})
	// and adding a comment to it (POST .../alerts_v2/{id}/comments).
	RouteAlertWrite = "alert-write"
	// RouteHunting is advanced hunting (XDR POST /api/advancedhunting/run,
	// Graph POST /v1.0/security/runHuntingQuery).
	RouteHunting = "hunting"
	// RouteWholeAPI is every route of an API together.
	RouteWholeAPI = "whole-api"
)

// Window is a strict sliding window: a request is refused when the window
// (now-Per, now] already holds Count accepted requests. Refused requests do
// not count.
type Window struct {
	Count int
	Per   time.Duration
}

// APILimits are the windows of one API, per tenant.
type APILimits struct {
	// Routes maps a route family (RouteIncidentList, ...) to its windows.
	Routes map[string][]Window
	// WholeAPI are windows every classified route of the API shares.
	WholeAPI []Window
}

// Limits are the rate limits the emulator tracks per tenant. Every accepted
// request of a route is counted in its route's windows and in the API's
// WholeAPI windows; a request is refused with a 429 when any of them is
// full (unless ObserveOnly).
type Limits struct {
	Graph, XDR APILimits
	// ObserveOnly tracks the windows (for Stats' maxima) without refusing
	// anything.
	ObserveOnly bool
}

// DocumentedLimits returns the documented upstream limits: for XDR the
// published per-API limits (list 50/min, get 100/min, update 50/min,
// hunting 45/min, each also 1,500/h; the whole API 50/min and 1,500/h); for
// Graph hunting 45/min, the incident and alert routes 50/min and 1,500/h
// each (the gateway's conservative defaults: Graph's are unconfirmed) and
// the whole /security API 150/min.
func DocumentedLimits() Limits {
	perMinHour := func(n int) []Window {
		return []Window{{Count: n, Per: time.Minute}, {Count: 1500, Per: time.Hour}}
	}
	return Limits{
		XDR: APILimits{
			Routes: map[string][]Window{
				RouteIncidentList:  perMinHour(50),
				RouteIncidentGet:   perMinHour(100),
				RouteIncidentWrite: perMinHour(50),
				RouteHunting:       perMinHour(45),
			},
			WholeAPI: perMinHour(50),
		},
		Graph: APILimits{
			Routes: map[string][]Window{
				RouteIncidentList:  perMinHour(50),
				RouteIncidentGet:   perMinHour(50),
				RouteIncidentWrite: perMinHour(50),
				RouteAlertList:     perMinHour(50),
				RouteAlertGet:      perMinHour(50),
				RouteAlertWrite:    perMinHour(50),
				RouteHunting:       {{Count: 45, Per: time.Minute}},
			},
			WholeAPI: []Window{{Count: 150, Per: time.Minute}},
		},
	}
}

func (l *Limits) api(api string) APILimits {
	if api == APIGraph {
		return l.Graph
	}
	return l.XDR
}

// classify returns the route family of a Graph or XDR request, "" for
// routes outside the families (they are neither limited nor counted).
func classify(api, method, path string) string {
	var rest string
	switch api {
	case APIGraph:
		if method == http.MethodPost && path == "/v1.0/security/runHuntingQuery" {
			return RouteHunting
		}
		if rest, ok := strings.CutPrefix(path, "/v1.0/security/alerts_v2"); ok {
			return classifyAlert(method, rest)
		}
		var ok bool
		if rest, ok = strings.CutPrefix(path, "/v1.0/security/incidents"); !ok {
			return ""
		}
	case APIXDR:
		if method == http.MethodPost && path == "/api/advancedhunting/run" {
			return RouteHunting
		}
		var ok bool
		if rest, ok = strings.CutPrefix(path, "/api/incidents"); !ok {
			return ""
		}
	default:
		return ""
	}
	switch {
	case rest == "" || rest == "/":
		if method == http.MethodGet {
			return RouteIncidentList
		}
	case strings.Count(rest, "/") == 1:
		switch method {
		case http.MethodGet:
			return RouteIncidentGet
		case http.MethodPatch:
			return RouteIncidentWrite
		}
	case api == APIGraph && method == http.MethodPost && strings.Count(rest, "/") == 2 && strings.HasSuffix(rest, "/comments"):
		return RouteIncidentWrite
	}
	return ""
}

// classifyAlert returns the route family of a Graph alerts_v2 request,
// rest being the path after /v1.0/security/alerts_v2.
func classifyAlert(method, rest string) string {
	switch {
	case rest == "" || rest == "/":
		if method == http.MethodGet {
			return RouteAlertList
		}
	case strings.Count(rest, "/") == 1:
		switch method {
		case http.MethodGet:
			return RouteAlertGet
		case http.MethodPatch:
			return RouteAlertWrite
		}
	case method == http.MethodPost && strings.Count(rest, "/") == 2 && strings.HasSuffix(rest, "/comments"):
		return RouteAlertWrite
	}
	return ""
}

// windowLog is the accepted requests of one window, oldest first, and the
// most it ever held.
type windowLog struct {
	w     Window
	times []time.Time
	max   int
}

// prune drops the times outside (now-Per, now].
func (l *windowLog) prune(now time.Time) {
	cut := 0
	for cut < len(l.times) && !l.times[cut].After(now.Add(-l.w.Per)) {
		cut++
	}
	l.times = l.times[cut:]
}

// routeCounters are the counters of one API, tenant and route family.
type routeCounters struct {
	accepted, limited, faulted429 int
	windows                       []*windowLog
}

type counterKey struct{ api, tenant, route string }

// limiter enforces Limits and keeps the Stats. It is safe for concurrent use.
type limiter struct {
	mu       sync.Mutex
	limits   *Limits // nil: only counts
	counters map[counterKey]*routeCounters
}

func (l *limiter) counter(api, tenant, route string) *routeCounters {
	k := counterKey{api, tenant, route}
	c := l.counters[k]
	if c == nil {
		c = &routeCounters{}
		if l.limits != nil {
			al := l.limits.api(api)
			ws := al.Routes[route]
			if route == RouteWholeAPI {
				ws = al.WholeAPI
			}
			for _, w := range ws {
				if w.Count > 0 && w.Per > 0 {
					c.windows = append(c.windows, &windowLog{w: w})
				}
			}
		}
		if l.counters == nil {
			l.counters = make(map[counterKey]*routeCounters)
		}
		l.counters[k] = c
	}
	return c
}

// refusal describes why a request was refused.
type refusal struct {
	window Window
	wait   time.Duration // until the window frees a slot
}

// admit counts a request of route for tenant at now: it returns the
// refusal when a window is full (and limits are enforced), else counts it
// as accepted.
func (l *limiter) admit(api, tenant, route string, now time.Time) (refusal, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	counters := []*routeCounters{l.counter(api, tenant, route), l.counter(api, tenant, RouteWholeAPI)}
	if l.limits != nil && !l.limits.ObserveOnly {
		var worst refusal
		refused := false
		for _, c := range counters {
			for _, wl := range c.windows {
				wl.prune(now)
				if len(wl.times) < wl.w.Count {
					continue
				}
				wait := wl.times[len(wl.times)-wl.w.Count].Add(wl.w.Per).Sub(now)
				if !refused || wait > worst.wait {
					worst = refusal{window: wl.w, wait: wait}
				}
				refused = true
			}
		}
		if refused {
			counters[0].limited++
			return worst, false
		}
	}
	for _, c := range counters {
		c.accepted++
		for _, wl := range c.windows {
			wl.prune(now)
			wl.times = append(wl.times, now)
			wl.max = max(wl.max, len(wl.times))
		}
	}
	return refusal{}, true
}

// faulted counts a 429 a fault answered.
func (l *limiter) faulted(api, tenant, route string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counter(api, tenant, route).faulted429++
}

// enforceLimits wraps an API handler (behind the token check) so that
// requests over the limits are refused in the API's own shape and the
// others counted.
func (e *Emulator) enforceLimits(api string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := classify(api, r.Method, r.URL.Path)
		c, _ := claims.From(r.Context())
		if route == "" || c.TenantID == "" {
			next.ServeHTTP(w, r)
			return
		}
		ref, ok := e.limiter.admit(api, c.TenantID, route, e.now())
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		if api == APIGraph {
			wire.SetRetryAfter(w, ceilSecond(ref.wait))
			wire.WriteGraphError(w, r, http.StatusTooManyRequests, "TooManyRequests",
				"Too many requests. Retry after the time in the Retry-After header.")
			return
		}
		wire.WriteXDRError(w, http.StatusTooManyRequests, "429", xdrQuotaMessage(ref.window))
	})
}

// ceilSecond rounds d up to a whole second.
func ceilSecond(d time.Duration) time.Duration {
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return d
}

// xdrQuotaMessage is the XDR API's quota message for w, e.g. "API calls
// quota exceeded! maximum allowed 45 per 00:01:00".
func xdrQuotaMessage(w Window) string {
	s := int(w.Per / time.Second)
	return fmt.Sprintf("API calls quota exceeded! maximum allowed %d per %02d:%02d:%02d", w.Count, s/3600, s/60%60, s%60)
}
