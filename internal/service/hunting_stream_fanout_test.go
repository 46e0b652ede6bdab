package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// midStreamFailure streams its rows, then fails as a connection lost part
// way.
type midStreamFailure struct{ *fakeBackend }

func (b midStreamFailure) StreamHuntingQuery(ctx context.Context, q defender.HuntingQuery, sink defender.HuntingSink) error {
	if err := b.fakeBackend.StreamHuntingQuery(ctx, q, sink); err != nil {
		return err
	}
	return defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable, "the upstream connection was lost")
}

func columnNames(cols []*defenderv1.Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.GetName())
	}
	return out
}

// streamedRows is every row of a stream as "tenant device", checking that
// each batch names the tenant of its rows and counts its first row.
func streamedRows(t *testing.T, msgs []*defenderv1.StreamQueryResponse) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		b := m.GetBatch()
		if b == nil {
			continue
		}
		if b.GetFirstRow() != int64(len(out)) {
			t.Errorf("batch first row %d after %d rows", b.GetFirstRow(), len(out))
		}
		for _, r := range b.GetRows() {
			f := r.AsMap()
			if f[TenantColumn] != b.GetTenant() {
				t.Errorf("row %v in a batch of %s", f, b.GetTenant())
			}
			if _, ok := f["gatewaytenant"]; ok {
				t.Errorf("the result's own tenant column was kept: %v", f)
			}
			out = append(out, f[TenantColumn].(string)+" "+f["Device"].(string))
		}
	}
	return out
}

// TestStreamQueryAcrossTenants: the schema first with GatewayTenant, then
// every tenant's rows tagged with it; a tenant failing before its rows and
// one failing part way are unreachable in the end, the latter's rows sent;
// the end lists a column only a later tenant had.
func TestStreamQueryAcrossTenants(t *testing.T) {
	a := huntingBackend(map[string]any{"Device": "a1", "Count": 1.0}, map[string]any{"Device": "a2", "Count": 2.0, "gatewaytenant": "spoofed"})
	b := huntingBackend(map[string]any{"Device": "b1", "Count": 3.0})
	b.hunting.Columns = append(b.hunting.Columns, defender.HuntingColumn{Name: "Extra", Type: "string"})
	down := &fakeBackend{kind: defender.BackendGraph, err: &defender.Error{Kind: defender.KindThrottled, Reason: defender.ReasonThrottled, Message: "hunting quota"}}
	cut := huntingBackend(map[string]any{"Device": "d1", "Late": "x"})
	cut.hunting.Columns = append(cut.hunting.Columns, defender.HuntingColumn{Name: "Late", Type: "string"})
	const tenantD = "dddddddd-0000-0000-0000-000000000000"
	svc := newHuntingFanout(t, fanoutResolver{backends: map[string]defender.Backend{tenantA: a, tenantB: b, tenantC: down, tenantD: midStreamFailure{cut}}},
		"default", tenantB, tenantC, tenantD)
	req := &caller.Request{Identity: caller.Identity{Name: "api-key:hunter"}}
	stream := &recordedStream{ctx: caller.NewContext(context.Background(), req)}
	if err := svc.StreamQuery(&defenderv1.StreamQueryRequest{Tenant: "tenants/-", Query: "DeviceEvents", MaxBatchRows: 1}, stream); err != nil {
		t.Fatal(err)
	}
	msgs := stream.sent
	if got, want := columnNames(msgs[0].GetSchema().GetColumns()), []string{"GatewayTenant", "Device", "Count", "Extra"}; !slices.Equal(got, want) {
		t.Fatalf("first message %v, want the schema %v", msgs[0], want)
	}
	rows := streamedRows(t, msgs)
	want := []string{"tenants/" + tenantA + " a1", "tenants/" + tenantA + " a2", "tenants/" + tenantB + " b1", "tenants/" + tenantD + " d1"}
	slices.Sort(rows)
	if !slices.Equal(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	end := msgs[len(msgs)-1].GetEnd()
	if end == nil || end.GetRowCount() != 4 {
		t.Fatalf("last message %v, want the end of 4 rows", msgs[len(msgs)-1])
	}
	if got, want := columnNames(end.GetColumns()), []string{"GatewayTenant", "Device", "Count", "Extra", "Late"}; !slices.Equal(got, want) {
		t.Errorf("end columns %v, want %v", got, want)
	}
	if !slices.Equal(end.GetUnreachable(), []string{"tenants/" + tenantC, "tenants/" + tenantD}) ||
		end.GetUnreachableDetails()[0].GetCode() != code.Code_RESOURCE_EXHAUSTED || end.GetUnreachableDetails()[1].GetCode() != code.Code_UNAVAILABLE {
		t.Errorf("unreachable %v %v", end.GetUnreachable(), end.GetUnreachableDetails())
	}
	if got := req.Trace().Touched(); !slices.Equal(got, []string{tenantA, tenantB, tenantC, tenantD}) {
		t.Errorf("touched %v", got)
	}
}

// TestStreamQueryAcrossTenantsFails: every tenant failing before the
// schema fails the call with the first failure, and nothing is sent.
func TestStreamQueryAcrossTenantsFails(t *testing.T) {
	kql := func() *fakeBackend {
		return &fakeBackend{kind: defender.BackendGraph, err: defender.Errorf(defender.KindInvalidArgument, defender.ReasonUpstreamBadRequest, "Syntax error")}
	}
	svc := newHuntingFanout(t, fanoutResolver{backends: map[string]defender.Backend{tenantA: kql(), tenantB: kql()}}, "default", tenantB)
	stream := &recordedStream{ctx: context.Background()}
	err := svc.StreamQuery(&defenderv1.StreamQueryRequest{Tenant: "tenants/-", Query: "bad |"}, stream)
	wantCode(t, err, codes.InvalidArgument, defender.ReasonUpstreamBadRequest)
	if len(stream.sent) != 0 {
		t.Errorf("sent %v before failing", shape(stream.sent))
	}
}

// TestQuerySubset: RunQuery and StreamQuery on tenants/- naming tenants
// run in just those, in their order; a tenant the caller may not use is
// PERMISSION_DENIED naming it, a malformed or repeated one INVALID_ARGUMENT
// naming tenants[i], and tenants on one tenant INVALID_ARGUMENT.
func TestQuerySubset(t *testing.T) {
	backends := map[string]defender.Backend{
		tenantA: huntingBackend(map[string]any{"Device": "a1"}),
		tenantB: huntingBackend(map[string]any{"Device": "b1"}),
		tenantC: huntingBackend(map[string]any{"Device": "c1"}),
	}
	svc := newHuntingFanout(t, fanoutResolver{backends: backends}, "default", tenantB, tenantC, "contoso.example")
	newCaller := func() *caller.Request {
		return &caller.Request{Identity: caller.Identity{Name: "api-key:hunter"}, AuthorizeTenant: func(tenant string) error {
			if tenant == tenantC {
				return defender.Errorf(defender.KindPermissionDenied, defender.ReasonCallerTenantNotAllowed, "no")
			}
			return nil
		}}
	}
	tests := []struct {
		name    string
		parent  string
		tenants []string
		want    []string // rows, or
		code    codes.Code
		field   string // of an INVALID_ARGUMENT
		message string // in a PERMISSION_DENIED
	}{
		{"two of three", "tenants/-", []string{"tenants/" + tenantB, "default"}, []string{"tenants/" + tenantB + " b1", "tenants/" + tenantA + " a1"}, codes.OK, "", ""},
		{"bare ids", "tenants/-", []string{strings.ToUpper(tenantA)}, []string{"tenants/" + tenantA + " a1"}, codes.OK, "", ""},
		{"not allowed by policy", "tenants/-", []string{"default", "tenants/" + tenantC}, nil, codes.PermissionDenied, "", "tenants[1]"},
		{"not served", "tenants/-", []string{"tenants/eeeeeeee-0000-0000-0000-000000000000"}, nil, codes.PermissionDenied, "", "tenants[0]"},
		{"malformed", "tenants/-", []string{"default", "tenants/bad name"}, nil, codes.InvalidArgument, "tenants[1]", ""},
		{"the wildcard", "tenants/-", []string{"-"}, nil, codes.InvalidArgument, "tenants[0]", ""},
		{"the same tenant twice", "tenants/-", []string{"default", tenantA}, nil, codes.InvalidArgument, "tenants[1]", ""},
		{"one tenant", "tenants/default", []string{tenantB}, nil, codes.InvalidArgument, "tenants", ""},
	}
	for _, tt := range tests {
		for _, rpc := range []string{"RunQuery", "StreamQuery"} {
			t.Run(tt.name+"/"+rpc, func(t *testing.T) {
				req := newCaller()
				ctx := caller.NewContext(context.Background(), req)
				var rows []string
				var err error
				if rpc == "RunQuery" {
					var resp *defenderv1.RunQueryResponse
					resp, err = svc.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: tt.parent, Query: "x", Tenants: tt.tenants})
					for _, r := range resp.GetRows() {
						rows = append(rows, r.AsMap()[TenantColumn].(string)+" "+r.AsMap()["Device"].(string))
					}
				} else {
					stream := &recordedStream{ctx: ctx}
					err = svc.StreamQuery(&defenderv1.StreamQueryRequest{Tenant: tt.parent, Query: "x", Tenants: tt.tenants}, stream)
					rows = streamedRows(t, stream.sent)
				}
				switch {
				case tt.code == codes.OK:
					if err != nil {
						t.Fatal(err)
					}
					if rpc == "StreamQuery" { // tenants interleave
						slices.Sort(rows)
						slices.Sort(tt.want)
					}
					if !slices.Equal(rows, tt.want) {
						t.Errorf("rows %v, want %v", rows, tt.want)
					}
					var touched []string
					for _, w := range tt.want {
						touched = append(touched, strings.TrimPrefix(strings.Fields(w)[0], "tenants/"))
					}
					if got := req.Trace().Touched(); !slices.Equal(got, touched) && rpc == "RunQuery" {
						t.Errorf("touched %v, want %v", got, touched)
					}
				case tt.field != "":
					wantFieldError(t, err, tt.field)
				default:
					st := wantCode(t, err, tt.code, defender.ReasonCallerTenantNotAllowed)
					if !strings.Contains(st.Message(), tt.message) {
						t.Errorf("message %q does not name %s", st.Message(), tt.message)
					}
					if len(req.Trace().Touched()) != 0 {
						t.Errorf("touched %v on a refused call", req.Trace().Touched())
					}
				}
			})
		}
	}
}

// countingStream counts the streams in flight across its backends.
type countingStream struct {
	*fakeBackend
	inFlight, most *atomic.Int32
}

func (b countingStream) StreamHuntingQuery(ctx context.Context, q defender.HuntingQuery, sink defender.HuntingSink) error {
	n := b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	for {
		m := b.most.Load()
		if n <= m || b.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(5 * time.Millisecond)
	return b.fakeBackend.StreamHuntingQuery(ctx, q, sink)
}

// TestStreamQueryAcrossTenantsConcurrency: at most the configured number of
// tenants stream at once, and every tenant's rows still come.
func TestStreamQueryAcrossTenantsConcurrency(t *testing.T) {
	var inFlight, most atomic.Int32
	backends := map[string]defender.Backend{}
	var served []string
	for i := range 6 {
		id := fmt.Sprintf("%08d-0000-0000-0000-000000000000", i)
		backends[id] = countingStream{huntingBackend(map[string]any{"Device": id}), &inFlight, &most}
		served = append(served, id)
	}
	svc := newHuntingFanout(t, fanoutResolver{backends: backends}, served...)
	stream := &recordedStream{ctx: context.Background()}
	if err := svc.StreamQuery(&defenderv1.StreamQueryRequest{Tenant: "tenants/-", Query: "x"}, stream); err != nil {
		t.Fatal(err)
	}
	if got := len(streamedRows(t, stream.sent)); got != 6 {
		t.Errorf("%d rows, want one of each of 6 tenants", got)
	}
	if m := most.Load(); m > 2 || m < 1 {
		t.Errorf("%d tenants streamed at once, want at most 2", m)
	}
}
