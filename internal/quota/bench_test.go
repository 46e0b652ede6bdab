package quota_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/quota"
)

// BenchmarkAdmitUnthrottled is Admit with a large budget and one caller,
// alone and in front of a loopback HTTP round trip (a minimal upstream
// call); BenchmarkAdmitBaseline is the same round trip without a
// scheduler, so the ratio of the two is the scheduler's overhead.
func BenchmarkAdmitUnthrottled(b *testing.B) {
	s := quota.NewScheduler(quota.Options{Store: quota.NewMemoryStore(nil),
		Budgets: budgets(map[quota.Family][]quota.Window{quota.FamilyIncidentGet: {{Count: 1 << 40, Per: time.Second}}},
			[]quota.Window{{Count: 1 << 40, Per: time.Second}})})
	defer s.Close()
	ctx := context.Background()
	c := call(quota.FamilyIncidentGet, "a")
	b.Run("admit", func(b *testing.B) {
		for b.Loop() {
			if err := s.Admit(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("admit+roundtrip", func(b *testing.B) {
		roundTrips(b, func() error { return s.Admit(ctx, c) })
	})
}

// BenchmarkAdmitBaseline is the round trip of BenchmarkAdmitUnthrottled
// without a scheduler.
func BenchmarkAdmitBaseline(b *testing.B) {
	roundTrips(b, func() error { return nil })
}

func roundTrips(b *testing.B, admit func() error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("{}")) }))
	defer srv.Close()
	hc := srv.Client()
	defer hc.CloseIdleConnections()
	for b.Loop() {
		if err := admit(); err != nil {
			b.Fatal(err)
		}
		resp, err := hc.Get(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
