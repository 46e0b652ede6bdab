package governor

import (
	"testing"
)

// BenchmarkRead compares a read through the governor (coalescing on, the
// usual case of no concurrent twin; and parallel identical reads) with the
// backend called directly.
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
