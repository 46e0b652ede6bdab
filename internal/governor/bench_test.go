package governor

import (
	"testing"
	"time"
)

// BenchmarkRead compares a read through the governor with the backend
// called directly: one caller at a time (the governor's overhead when there
// is no concurrent twin), and 16 parallel callers of the same read against
// an upstream of 200µs latency, with and without coalescing (upstream/op is
// the share of reads that went upstream).
func BenchmarkRead(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		fb := &fakeBackend{}
		ctx := as(b.Context(), "api-key:a", nil, "")
		for b.Loop() {
			if _, err := fb.GetIncident(ctx, "7", true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("coalesced", func(b *testing.B) {
		fb := &fakeBackend{}
		g := newTest(b, Options{Coalesce: true}, fb)
		ctx := as(b.Context(), "api-key:a", nil, "")
		target, _ := g.Resolve(ctx, tenantA)
		for b.Loop() {
			if _, err := target.Backend.GetIncident(ctx, "7", true); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name     string
		coalesce bool
	}{{"uncoalesced-parallel-slow", false}, {"coalesced-parallel-slow", true}} {
		b.Run(tc.name, func(b *testing.B) {
			fb := &fakeBackend{delay: 200 * time.Microsecond}
			g := newTest(b, Options{Coalesce: tc.coalesce}, fb)
			ctx := as(b.Context(), "api-key:a", nil, "")
			target, _ := g.Resolve(ctx, tenantA)
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := target.Backend.GetIncident(ctx, "7", true); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(fb.count())/float64(b.N), "upstream/op")
		})
	}
	b.Run("coalesced-parallel", func(b *testing.B) {
		fb := &fakeBackend{}
		g := newTest(b, Options{Coalesce: true}, fb)
		ctx := as(b.Context(), "api-key:a", nil, "")
		target, _ := g.Resolve(ctx, tenantA)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := target.Backend.GetIncident(ctx, "7", true); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(fb.count())/float64(b.N), "upstream/op")
	})
}
