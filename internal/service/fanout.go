package service

import (
	"context"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// wildcardParent is AIP-159's parent of every tenant the caller may use.
const wildcardParent = tenantsCollection + "/-"

// TenantLister lists the tenants the gateway serves, as configured, the
// home tenant first. *authctx.Registry implements it.
type TenantLister interface {
	ServedTenants() []string
}

// DefaultFanoutConcurrency is how many tenants a call on tenants/- reads at
// once unless WithFanout says otherwise.
const DefaultFanoutConcurrency = 8

type fanoutSettings struct {
	tenants     TenantLister
	concurrency int
}

// WithFanout serves ListIncidents on tenants/-: every tenant of tenants
// that the caller's policy allows, at most concurrency read at once.
// Without it, tenants/- is INVALID_ARGUMENT.
func WithFanout(tenants TenantLister, concurrency int) IncidentOption {
	return func(s *IncidentService) {
		if concurrency < 1 {
			concurrency = DefaultFanoutConcurrency
		}
		s.fanout = fanoutSettings{tenants: tenants, concurrency: concurrency}
	}
}

// fanoutTenant is one tenant of a listing across tenants during one call.
type fanoutTenant struct {
	state  fanoutTenantState
	target authctx.Target
	merge  *mergeTenant // nil when it is not read on this call
	err    error        // failed on this call before it was read
	// configured is the tenant's name in the gateway's configuration.
	configured string
}

// listAcross is ListIncidents on tenants/- (fanoutCall.run).
func (s *IncidentService) listAcross(ctx context.Context, req *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter, err := filterFromRequest(req)
	if err != nil {
		return nil, err
	}
	alerts, err := withAlerts(req.GetView(), false)
	if err != nil {
		return nil, err
	}
	fp := fanoutFingerprintOf(ctx, filter, alerts)
	fp.Subset = req.GetTenants()
	call := fanoutCall[defender.Incident]{
		resolver: s.resolver, settings: s.fanout, tokens: s.tokens, errs: s.errs,
		list: incidentList(filter, alerts), fp: fp,
		subset: req.GetTenants(), pageToken: req.GetPageToken(), size: size,
	}
	page, err := call.run(ctx)
	if err != nil {
		return nil, err
	}
	resp := &defenderv1.ListIncidentsResponse{
		Incidents:          make([]*defenderv1.Incident, 0, len(page.items)),
		NextPageToken:      page.nextToken,
		Unreachable:        page.unreachable,
		UnreachableDetails: page.details,
	}
	for i := range page.items {
		resp.Incidents = append(resp.Incidents, incidentToProto(page.items[i].tenant, &page.items[i].item))
	}
	return resp, nil
}

// fanoutCall is one call of a listing of T across tenants (tenants/-).
type fanoutCall[T any] struct {
	resolver  Resolver
	settings  fanoutSettings
	tokens    pageTokens
	errs      errorReporter
	list      fanoutList[T]
	fp        fanoutFingerprint
	subset    []string // the request's tenants
	pageToken string
	size      int
}

// fanoutPage is one merged page of a listing across tenants.
type fanoutPage[T any] struct {
	items       []mergedItem[T]
	unreachable []string
	details     []*defenderv1.UnreachableTenant
	nextToken   string
}

// run is the tenants' pages merged in one order (fanout_merge.go), each
// failing tenant reported in unreachable. The call itself fails on bad
// input, when the caller may use no tenant, or when every tenant fails on
// the first page.
func (c fanoutCall[T]) run(ctx context.Context) (*fanoutPage[T], error) {
	if c.settings.tenants == nil {
		return nil, fieldError("parent", "tenants/- is not served by this gateway")
	}
	first := c.pageToken == ""
	var tenants []*fanoutTenant
	var err error
	if first {
		if tenants, err = firstTenants(ctx, c.resolver, c.settings.tenants, c.subset); err != nil {
			return nil, err
		}
	} else {
		states, err := c.tokens.openFanout(c.pageToken, c.fp)
		if err != nil {
			return nil, err
		}
		if tenants, err = resumeTenants(ctx, c.resolver, states); err != nil {
			return nil, err
		}
	}
	var reading []*mergeTenant
	for _, t := range tenants {
		if t.merge != nil {
			reading = append(reading, t.merge)
		}
	}
	m := merger[T]{list: c.list, concurrency: c.settings.concurrency}
	merged := m.page(ctx, reading, c.size)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, t := range tenants {
		if mt := t.merge; mt != nil && mt.err != nil {
			if isBadInput(mt.err) {
				return nil, mt.err
			}
			t.err = mt.err
		}
	}
	if first {
		if err := everyTenantFailed(tenants); err != nil {
			return nil, err
		}
	}
	return c.response(ctx, tenants, merged)
}

// firstTenants are the tenants of a new listing: each served tenant that
// the caller's policy allows in this call's method, resolved, or those of
// the request's tenants (fanout_subset.go). A user context serves only the
// user's own tenant; the others are not the caller's to use and are left
// out, as are those the policy denies.
func firstTenants(ctx context.Context, resolver Resolver, lister TenantLister, subset []string) ([]*fanoutTenant, error) {
	out, err := fanoutSelect(ctx, resolver, lister, subset)
	if err != nil {
		return nil, err
	}
	for _, t := range out {
		if t.err == nil {
			t.state.Bind = tenantBind(t.target)
			t.merge = &mergeTenant{tenant: t.target.Tenant, backend: t.target.Backend}
		}
	}
	return out, nil
}

// fanoutTargets resolves every served tenant that the caller's policy
// allows in this call's method; a user context serves only the user's own
// tenant. A tenant that fails to resolve is kept with its error, named as
// configured. Each is recorded as touched for the audit record.
func fanoutTargets(ctx context.Context, resolver Resolver, lister TenantLister) ([]*fanoutTenant, error) {
	r := caller.FromContext(ctx)
	out := allowedTargets(ctx, resolver, lister)
	if len(out) == 0 {
		return nil, noTenantError(r)
	}
	for _, t := range out {
		touch(r, t.state.Tenant)
	}
	return out, nil
}

// allowedTargets is fanoutTargets without the audit record: every served
// tenant the caller may use in this call's method, resolved.
func allowedTargets(ctx context.Context, resolver Resolver, lister TenantLister) []*fanoutTenant {
	r := caller.FromContext(ctx)
	var out []*fanoutTenant
	seen := map[string]bool{}
	for _, name := range lister.ServedTenants() {
		if r != nil && r.AuthorizeTenant != nil && r.AuthorizeTenant(name) != nil {
			continue
		}
		target, err := resolveTarget(ctx, resolver, name)
		if e, ok := defender.AsError(err); ok && e.Reason == defender.ReasonUserTenantMismatch {
			continue
		}
		t := &fanoutTenant{state: fanoutTenantState{Tenant: name}, target: target, err: err, configured: name}
		if err == nil {
			if seen[target.Tenant] {
				continue
			}
			seen[target.Tenant] = true
			t.state = fanoutTenantState{Tenant: target.Tenant}
		}
		out = append(out, t)
	}
	return out
}

// noTenantError is the failure of a call on tenants/- by a caller that may
// use no tenant the gateway serves.
func noTenantError(r *caller.Request) error {
	who := "the caller"
	if r != nil {
		who = "caller " + r.Identity.Name
	}
	return defender.Errorf(defender.KindPermissionDenied, defender.ReasonCallerTenantNotAllowed,
		"%s may make this call in no tenant the gateway serves", who)
}

// resumeTenants are the tenants of a token: those that failed stay
// unreachable; the others are resolved again and continue at their
// positions. A tenant the policy no longer allows is dropped; one served
// now by another backend or auth context makes the token invalid.
func resumeTenants(ctx context.Context, resolver Resolver, states []fanoutTenantState) ([]*fanoutTenant, error) {
	r := caller.FromContext(ctx)
	out := make([]*fanoutTenant, 0, len(states))
	for _, st := range states {
		if st.Failure != nil {
			out = append(out, &fanoutTenant{state: st})
			continue
		}
		if r != nil && r.AuthorizeTenant != nil && r.AuthorizeTenant(st.Tenant) != nil {
			continue
		}
		touch(r, st.Tenant)
		target, err := resolveTarget(ctx, resolver, st.Tenant)
		t := &fanoutTenant{state: st, target: target, err: err}
		if err == nil {
			if target.Tenant != st.Tenant || tenantBind(target) != st.Bind {
				return nil, fieldError("page_token", invalidPageToken)
			}
			t.merge = &mergeTenant{tenant: st.Tenant, backend: target.Backend, pos: st.tenantPosition}
		}
		out = append(out, t)
	}
	return out, nil
}

// response is the page, unreachable tenants and next token.
func (c fanoutCall[T]) response(ctx context.Context, tenants []*fanoutTenant, merged []mergedItem[T]) (*fanoutPage[T], error) {
	page := &fanoutPage[T]{items: merged}
	var next []fanoutTenantState
	more := false
	for _, t := range tenants {
		switch {
		case t.state.Failure != nil:
			page.unreachable = append(page.unreachable, tenantsCollection+"/"+t.state.Tenant)
			page.details = append(page.details, storedUnreachable(t.state))
			next = append(next, t.state)
		case t.err != nil:
			u, f := unreachableOf(ctx, c.errs, t.state.Tenant, t.err)
			page.unreachable = append(page.unreachable, u.GetTenant())
			page.details = append(page.details, u)
			next = append(next, fanoutTenantState{Tenant: t.state.Tenant, Failure: f})
		case t.merge != nil && !t.merge.done:
			next = append(next, fanoutTenantState{Tenant: t.state.Tenant, Bind: t.state.Bind, tenantPosition: t.merge.pos})
			more = true
		}
	}
	if more {
		var err error
		if page.nextToken, err = c.tokens.issueFanout(next, c.fp); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// unreachableOf describes a tenant's failure as the call of that tenant alone
// would have returned it, logs it, and returns what a token keeps of it.
func unreachableOf(ctx context.Context, errs errorReporter, tenant string, err error) (*defenderv1.UnreachableTenant, *fanoutFailure) {
	st := ToStatus(err)
	errs.log.Log(ctx, logLevel(st.Code()), "tenant unreachable in a call across tenants",
		slog.String("tenant", tenant), slog.String("code", st.Code().String()), slog.Any("error", err))
	u := &defenderv1.UnreachableTenant{
		Tenant:  tenantsCollection + "/" + tenant,
		Code:    code.Code(st.Code()),
		Message: st.Message(),
	}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			u.Reason = d.GetReason()
		case *errdetails.RetryInfo:
			u.RetryDelay = d.GetRetryDelay()
		}
	}
	msg := u.GetMessage()
	if r := []rune(msg); len(r) > maxFailureMessage {
		msg = string(r[:maxFailureMessage]) + "…"
	}
	return u, &fanoutFailure{Code: int32(st.Code()), Reason: u.GetReason(), Message: msg}
}

// storedUnreachable is a failure kept in the token, on a later page.
func storedUnreachable(st fanoutTenantState) *defenderv1.UnreachableTenant {
	return &defenderv1.UnreachableTenant{
		Tenant:  tenantsCollection + "/" + st.Tenant,
		Code:    code.Code(st.Failure.Code),
		Reason:  st.Failure.Reason,
		Message: st.Failure.Message,
	}
}

// everyTenantFailed returns the first failure when no tenant could be
// read, else nil.
func everyTenantFailed(tenants []*fanoutTenant) error {
	var first error
	for _, t := range tenants {
		if t.err == nil {
			return nil
		}
		if first == nil {
			first = t.err
		}
	}
	return first
}

// isBadInput reports a failure of the request itself, not of a tenant: a
// cursor or value the backend refuses as invalid before any upstream call.
func isBadInput(err error) bool {
	if e, ok := defender.AsError(err); ok {
		return e.Kind == defender.KindInvalidArgument && e.Reason == defender.ReasonInvalidArgument
	}
	return ToStatus(err).Code() == codes.InvalidArgument
}

// resolveTarget resolves one tenant of a listing across tenants: resolve
// without recording the target, which the audit record lists among the
// touched tenants instead.
func resolveTarget(ctx context.Context, r Resolver, tenant string) (authctx.Target, error) {
	if r == nil {
		return authctx.Target{}, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "no resolver is configured")
	}
	t, err := r.Resolve(ctx, tenant)
	if err != nil {
		return authctx.Target{}, err
	}
	if t.Backend == nil || t.Tenant == "" {
		return authctx.Target{}, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "the resolver returned an incomplete target for tenant %q", tenant)
	}
	return t, nil
}

// touch records tenant in the audit record of the call.
func touch(r *caller.Request, tenant string) {
	if r != nil {
		r.Trace().AddTouched(tenant)
	}
}
