package service

import (
	"context"
	"strings"
	"sync"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// tenantEvent is what one tenant's streamed query hands the stream: its
// columns, a batch of its rows, or its end.
type tenantEvent struct {
	i       int
	columns []*defenderv1.Column
	hasCols bool
	batch   *defenderv1.QueryRowBatch
	done    bool
	err     error
	limit   bool // the tenant's result reached the upstream's row limit
}

// tenantStreamState is what streamAcross knows of one tenant.
type tenantStreamState struct {
	running bool
	hasCols bool
	columns []*defenderv1.Column
}

// streamAcross is StreamQuery on tenants/-: the query in each tenant (or
// those the request names), each within its quota, at most the configured
// number at once. The schema is sent once every running tenant has given
// its columns or ended (TenantColumn first, then the columns of those
// tenants in their order, RunQuery's rule); each tenant's rows then go as
// its batches fill, tenants interleaved, every row tagged with
// TenantColumn; the end lists every column and the tenants that failed,
// before their first row or part way. Each tenant holds at most one batch
// while the caller is not reading. The call fails for bad input, when the
// caller may use no tenant, or when every tenant fails before the schema.
func (s *HuntingService) streamAcross(ctx context.Context, req *defenderv1.StreamQueryRequest, stream defenderv1.HuntingService_StreamQueryServer) error {
	if err := checkQuery(req.GetQuery(), req.GetTimespan()); err != nil {
		return err
	}
	if err := checkTimespan(req.GetTimespan()); err != nil {
		return err
	}
	if s.fanout.tenants == nil {
		return fieldError("tenant", "tenants/- is not served by this gateway")
	}
	tenants, err := fanoutSelect(ctx, s.resolver, s.fanout.tenants, req.GetTenants())
	if err != nil {
		return err
	}
	send := streamSender(ctx, stream)
	q := defender.HuntingQuery{Query: req.GetQuery(), Timespan: req.GetTimespan()}

	tctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	events := make(chan tenantEvent)
	gate := make(chan struct{}) // closed once the schema is sent
	state := make([]tenantStreamState, len(tenants))
	var order []int
	for i, t := range tenants {
		if t.err == nil {
			order = append(order, i)
		}
	}
	running, next := 0, 0
	fill := func() {
		for running < max(s.fanout.concurrency, 1) && next < len(order) {
			i := order[next]
			next++
			running++
			state[i].running = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				streamTenant(tctx, i, tenants[i], q, int(req.GetMaxBatchRows()), events, gate)
			}()
		}
	}
	fill()

	m := streamMerge{seen: map[string]bool{strings.ToLower(TenantColumn): true}}
	schemaSent := false
	for running > 0 || !schemaSent {
		if !schemaSent && schemaReady(state) {
			if running == 0 {
				if err := everyTenantFailed(tenants); err != nil {
					return err
				}
			}
			if err := send(m.schema(tenants, state)); err != nil {
				return err
			}
			schemaSent = true
			close(gate)
			continue
		}
		var ev tenantEvent
		select {
		case ev = <-events:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		st := &state[ev.i]
		switch {
		case ev.done:
			st.running = false
			running--
			tenants[ev.i].err = ev.err
			m.limit = m.limit || ev.limit
			fill()
		case ev.batch != nil:
			ev.batch.FirstRow = m.rows
			ev.batch.Tenant = tenantsCollection + "/" + tenants[ev.i].target.Tenant
			m.rows += int64(len(ev.batch.GetRows()))
			if err := send(&defenderv1.StreamQueryResponse{Part: &defenderv1.StreamQueryResponse_Batch{Batch: ev.batch}}); err != nil {
				return err
			}
		case ev.hasCols:
			st.hasCols, st.columns = true, ev.columns
			if schemaSent {
				m.add(ev.columns)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	end := &defenderv1.QueryEnd{RowCount: m.rows, RowLimitReached: m.limit, Columns: m.all}
	for _, t := range tenants {
		if t.err != nil {
			u, _ := unreachableOf(ctx, s.errs, t.state.Tenant, t.err)
			end.Unreachable = append(end.Unreachable, u.GetTenant())
			end.UnreachableDetails = append(end.UnreachableDetails, u)
		}
	}
	return send(&defenderv1.StreamQueryResponse{Part: &defenderv1.StreamQueryResponse_End{End: end}})
}

// schemaReady reports whether every running tenant has given its columns:
// no more can come before some are sent.
func schemaReady(state []tenantStreamState) bool {
	for _, st := range state {
		if st.running && !st.hasCols {
			return false
		}
	}
	return true
}

// streamMerge is the columns and counts of a stream across tenants.
type streamMerge struct {
	seen  map[string]bool
	all   []*defenderv1.Column
	rows  int64
	limit bool
}

// add appends the columns not seen yet; a column of a name seen (any case)
// keeps its first type.
func (m *streamMerge) add(cols []*defenderv1.Column) {
	if m.all == nil {
		m.all = []*defenderv1.Column{{Name: TenantColumn, Type: "string"}}
	}
	for _, c := range cols {
		if key := strings.ToLower(c.GetName()); !m.seen[key] {
			m.seen[key] = true
			m.all = append(m.all, &defenderv1.Column{Name: c.GetName(), Type: c.GetType()})
		}
	}
}

// schema is the first message: TenantColumn, then the columns of the
// tenants that have given theirs, in the tenants' order.
func (m *streamMerge) schema(tenants []*fanoutTenant, state []tenantStreamState) *defenderv1.StreamQueryResponse {
	m.add(nil)
	for i := range tenants {
		if state[i].hasCols {
			m.add(state[i].columns)
		}
	}
	cols := make([]*defenderv1.Column, len(m.all))
	copy(cols, m.all)
	return &defenderv1.StreamQueryResponse{Part: &defenderv1.StreamQueryResponse_Schema{Schema: &defenderv1.QuerySchema{Columns: cols}}}
}

// streamTenant runs q in one tenant and hands its columns, batches and end
// to out; a batch waits for gate (the schema sent). It returns when ctx
// ends without waiting for out.
func streamTenant(ctx context.Context, i int, t *fanoutTenant, q defender.HuntingQuery, maxRows int, out chan<- tenantEvent, gate <-chan struct{}) {
	emit := func(ev tenantEvent) error {
		ev.i = i
		select {
		case out <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	gaveCols := false
	giveCols := func(cols []*defenderv1.Column) error {
		gaveCols = true
		return emit(tenantEvent{hasCols: true, columns: cols})
	}
	sink := newBatchSink(func(m *defenderv1.StreamQueryResponse) error {
		if sc := m.GetSchema(); sc != nil {
			return giveCols(withoutTenantColumn(sc.GetColumns()))
		}
		if !gaveCols { // rows without columns: none to give
			if err := giveCols(nil); err != nil {
				return err
			}
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		return emit(tenantEvent{batch: m.GetBatch()})
	}, maxRows)
	name := tenantsCollection + "/" + t.target.Tenant
	err := t.target.Backend.StreamHuntingQuery(ctx, q, taggingSink{batchSink: sink, tenant: name})
	// The rows decoded before a failure part way are the tenant's rows so
	// far: they go too.
	if ferr := sink.flush(); err == nil {
		err = ferr
	}
	_ = emit(tenantEvent{done: true, err: err, limit: sink.rows >= upstreamRowLimit})
}

// taggingSink gives every row TenantColumn, in place of a column of that
// name (any case) of the result's own.
type taggingSink struct {
	*batchSink
	tenant string
}

func (s taggingSink) Row(row map[string]any) error {
	tagged := make(map[string]any, len(row)+1)
	for k, v := range row {
		if !strings.EqualFold(k, TenantColumn) {
			tagged[k] = v
		}
	}
	tagged[TenantColumn] = s.tenant
	return s.batchSink.Row(tagged)
}

// withoutTenantColumn drops a result's own column of TenantColumn's name.
func withoutTenantColumn(cols []*defenderv1.Column) []*defenderv1.Column {
	out := cols[:0:0]
	for _, c := range cols {
		if !strings.EqualFold(c.GetName(), TenantColumn) {
			out = append(out, c)
		}
	}
	return out
}
