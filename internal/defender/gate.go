package defender

import (
	"context"
	"time"
)

// Gate admits each upstream request of a call and learns from the
// upstream's throttling. The governor puts one in the call's context with
// WithGate; without one, every request goes at once.
type Gate interface {
	// Admit returns when a request of family may go upstream, or an *Error
	// (KindThrottled with RetryAfter when the wait would not fit the
	// deadline; the context's error when it ends while waiting). It is
	// called before every attempt, retries included.
	Admit(ctx context.Context, family Family) error
	// Throttled reports an upstream 429 of family (or a hunting CPU-quota
	// error): wait is the Retry-After, else the window the body named, else
	// 0 for the gate's default; tenantWide is true when the 429 may be the
	// tenant's whole-API window, which every family shares: every XDR 429
	// (its limits of one family and of the whole API can read the same, as
	// "50 per 00:01:00"), never a Graph one.
	Throttled(family Family, wait time.Duration, tenantWide bool)
}

// Family is the API family of an upstream request; the values are the
// quota package's families.
type Family string

// The families of upstream requests.
const (
	FamilyIncidentRead  Family = "incident-read"
	FamilyIncidentGet   Family = "incident-get"
	FamilyIncidentWrite Family = "incident-write"
	FamilyHunting       Family = "hunting"
	FamilyAlertRead     Family = "alert-read"
	FamilyAlertGet      Family = "alert-get"
	FamilyAlertWrite    Family = "alert-write"
	// FamilyWholeAPI is no request's family: it names the windows every
	// family of a backend shares, in quota state.
	FamilyWholeAPI Family = "whole-api"
)

type gateKey struct{}

// WithGate returns ctx with g admitting its upstream requests.
func WithGate(ctx context.Context, g Gate) context.Context {
	return context.WithValue(ctx, gateKey{}, g)
}

// GateFrom returns ctx's gate, nil when none.
func GateFrom(ctx context.Context) Gate {
	g, _ := ctx.Value(gateKey{}).(Gate)
	return g
}
