package quota

import (
	"context"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// Family is an API family with budgets of its own; it is the defender
// package's, so that a Gate passes it through unchanged.
type Family = defender.Family

// The families.
const (
	// FamilyIncidentRead is ListIncidents (bulk).
	FamilyIncidentRead = defender.FamilyIncidentRead
	// FamilyIncidentGet is GetIncident and the gateway's own reads of one
	// incident (interactive).
	FamilyIncidentGet = defender.FamilyIncidentGet
	// FamilyIncidentWrite is UpdateIncident: the PATCH and the comment POST
	// (interactive).
	FamilyIncidentWrite = defender.FamilyIncidentWrite
	// FamilyHunting is advanced hunting (bulk).
	FamilyHunting = defender.FamilyHunting
	// FamilyAlertRead is ListAlerts (bulk).
	FamilyAlertRead = defender.FamilyAlertRead
	// FamilyAlertGet is GetAlert and the gateway's own reads of one alert
	// (interactive).
	FamilyAlertGet = defender.FamilyAlertGet
	// FamilyAlertWrite is UpdateAlert: the PATCH and the comment POST
	// (interactive).
	FamilyAlertWrite = defender.FamilyAlertWrite
	// FamilyWholeAPI names the windows every family of a backend shares
	// (BudgetState only; no call has it).
	FamilyWholeAPI = defender.FamilyWholeAPI
)

// Families lists every family, in a stable order.
var Families = []Family{FamilyIncidentRead, FamilyIncidentGet, FamilyIncidentWrite, FamilyHunting,
	FamilyAlertRead, FamilyAlertGet, FamilyAlertWrite}

// Interactive reports whether calls of f have the reserved share: a single
// get or an update, which a person or a playbook waits on.
func Interactive(f Family) bool {
	return f == FamilyIncidentGet || f == FamilyIncidentWrite || f == FamilyAlertGet || f == FamilyAlertWrite
}

// Call is one upstream request asking for capacity.
type Call struct {
	// Tenant is the canonical tenant id (a GUID, lower case).
	Tenant string
	// Backend is "graph" or "xdr": their budgets differ.
	Backend string
	Family  Family
	// Caller is the caller identity's name (caller.Identity.Name), the key
	// of fairness.
	Caller string
}

// Scheduler admits upstream requests. Implementations are safe for
// concurrent use.
type Scheduler interface {
	// Admit returns when c may go upstream. It waits for capacity only as
	// long as ctx's deadline allows: when the wait cannot fit, it fails at
	// once with a *defender.Error of KindThrottled, reason QUOTA_EXHAUSTED
	// and RetryAfter set to when capacity frees up, and so does a queued
	// call still waiting when only a margin for the upstream request
	// (100ms) is left of its deadline; when ctx ends while queued, it fails
	// with ctx's error mapped to KindDeadlineExceeded or KindCanceled.
	// Nothing goes upstream for a failed Admit.
	Admit(ctx context.Context, c Call) error
	// Throttled reports an upstream 429 (or a hunting CPU-quota error) for
	// c: no call of c's tenant, backend and family goes before retryAfter
	// has passed (the whole tenant when the 429 named the tenant-wide
	// window). retryAfter is the upstream's Retry-After, else the window the
	// body named, else a conservative default.
	Throttled(c Call, scope HoldScope, retryAfter time.Duration)
	// State returns the budgets of a tenant and backend, one entry per
	// family and window.
	State(ctx context.Context, tenant, backend string) ([]BudgetState, error)
}

// HoldScope is what an upstream 429 holds back.
type HoldScope int

// The hold scopes.
const (
	// HoldFamily holds the call's family in its tenant.
	HoldFamily HoldScope = iota
	// HoldTenant holds every family of the tenant (the whole-API window).
	HoldTenant
)

// BudgetState is one budget window's state, for the quota RPC and metrics.
type BudgetState struct {
	Family Family
	// Window is e.g. 1m or 1h; Limit the calls it allows.
	Window time.Duration
	Limit  int
	// Remaining is the calls left now; ResetAfter when the window is full
	// again.
	Remaining  int
	ResetAfter time.Duration
	// HeldUntil is when an upstream 429's hold ends; zero when none.
	HeldUntil time.Time
	// Queued is the calls of this family waiting on this replica.
	Queued int
	// Shared says the state is shared by every replica (Redis); false is
	// this replica's own, or its local share while Redis is lost.
	Shared bool
}

// Limit is one GCRA (the semantics of github.com/go-redis/redis_rate:
// Rate cells per Per, with a burst of Burst). SafeLimit makes one from a
// documented window.
type Limit struct {
	Rate  int
	Burst int
	Per   time.Duration
}

// SafeLimit is the GCRA that never lets more than count calls into any
// window of length per, however the upstream aligns its windows (fixed or
// sliding): with burst b and rate r = count-b per per, a GCRA conforms at
// most b + floor(L*r/per) cells in an interval of length L, so at most
// count-1 in a half-open window of length per and count in a closed one.
// The burst is a tenth of count (at least 1), leaving 90% as the sustained
// rate.
func SafeLimit(count int, per time.Duration) Limit {
	if count <= 1 {
		return Limit{Rate: 1, Burst: 1, Per: 2 * per}
	}
	b := max(1, count/10)
	return Limit{Rate: count - b, Burst: b, Per: per}
}

// Result is a Store's answer, as redis_rate's Result.
type Result struct {
	// Allowed is 1 when the unit was taken, 0 when refused (or peeked).
	Allowed   int
	Remaining int
	// RetryAfter is when a refused unit could be taken (-1 when allowed);
	// ResetAfter when the window is full again.
	RetryAfter time.Duration
	ResetAfter time.Duration
	// Applied is the limit the answer was computed under when the store
	// applied another than the one asked (a Redis store's local share
	// while Redis is lost); zero when it is the one asked.
	Applied Limit
}

// Under is the limit r was computed under: r.Applied when set, else
// asked. The scheduler's estimates use it, so that they match the store's
// answers.
func (r Result) Under(asked Limit) Limit {
	if r.Applied.Rate > 0 && r.Applied.Per > 0 {
		return r.Applied
	}
	return asked
}

// Store holds the limiter state: Memory for one replica, Redis for
// several. Implementations are safe for concurrent use.
type Store interface {
	// Allow takes one unit of key under l when it is free.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	// Peek reports key's state under l without taking a unit.
	Peek(ctx context.Context, key string, l Limit) (Result, error)
	// Hold makes Held(key) at least until; it never shortens a hold.
	Hold(ctx context.Context, key string, until time.Time) error
	// Held returns the end of key's hold, zero when none.
	Held(ctx context.Context, key string) (time.Time, error)
	// Shared reports whether the state is shared with other replicas right
	// now (false while a Redis store has fallen back to its local share).
	Shared() bool
}
