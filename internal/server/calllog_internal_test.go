package server

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"

	"github.com/defender-gateway/gateway/internal/telemetry"
)

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s ctxStream) Context() context.Context { return s.ctx }

// TestStreamActive: a server stream is counted while it runs; a client or
// bidi stream is not; a nil Metrics counts nothing.
func TestStreamActive(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := telemetry.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	const method = "/defender.v1.HuntingService/StreamQuery"
	gauge := func() string {
		var b strings.Builder
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "defender_gateway_active_streams" {
				for _, mm := range mf.GetMetric() {
					b.WriteString(mm.GetLabel()[0].GetValue() + "=" + strings.TrimSpace(mm.GetGauge().String()) + ";")
				}
			}
		}
		return b.String()
	}
	during := ""
	handler := func(any, grpc.ServerStream) error { during = gauge(); return nil }
	ss := ctxStream{ctx: context.Background()}
	if err := streamActive(m)(nil, ss, &grpc.StreamServerInfo{FullMethod: method, IsServerStream: true}, handler); err != nil {
		t.Fatal(err)
	}
	if during != method+"=value:1;" {
		t.Errorf("during the stream: %q", during)
	}
	if got := gauge(); got != method+"=value:0;" {
		t.Errorf("after the stream: %q", got)
	}
	before := testutil.CollectAndCount(reg, "defender_gateway_active_streams")
	if err := streamActive(m)(nil, ss, &grpc.StreamServerInfo{FullMethod: "/x/Bidi", IsClientStream: true}, func(any, grpc.ServerStream) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if after := testutil.CollectAndCount(reg, "defender_gateway_active_streams"); after != before {
		t.Errorf("a client stream was counted: %d series, want %d", after, before)
	}
	if err := streamActive(nil)(nil, ss, &grpc.StreamServerInfo{FullMethod: method, IsServerStream: true}, func(any, grpc.ServerStream) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
