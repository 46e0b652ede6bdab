package quotatest

import (
	"context"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/quota"
)

// Subject is a store under test and its time: Now is the store's clock,
// Sleep lets d pass on it (FakeClock.Sleep, or time.Sleep for a store on
// the wall clock such as Redis).
type Subject struct {
	Store quota.Store
	Now   func() time.Time
	Sleep func(time.Duration)
	// Tolerance is how far durations may be off (0 for a fake clock; a
	// few milliseconds for a real one).
	Tolerance time.Duration
	// RemainingSlack is how many fewer Remaining the store may report than
	// the exact GCRA: 1 for redis_rate, which computes in floating-point
	// seconds since 2017 and truncates (0.2/0.1 comes out as 1.99...).
	RemainingSlack int
}

// StoreConformance checks the GCRA and hold semantics every quota.Store
// has (those of github.com/go-redis/redis_rate). newSubject returns a
// fresh, empty store per subtest. Its limits are of one second, so it is
// quick on a wall clock too.
func StoreConformance(t *testing.T, newSubject func(t *testing.T) Subject) {
	ctx := context.Background()
	// 10 per second with a burst of 3: one cell every 100ms.
	lim := quota.Limit{Rate: 10, Burst: 3, Per: time.Second}
	const interval = 100 * time.Millisecond

	near := func(t *testing.T, s Subject, what string, got, want time.Duration) {
		t.Helper()
		if d := got - want; d < -s.Tolerance || d > s.Tolerance {
			t.Errorf("%s = %v, want %v (±%v)", what, got, want, s.Tolerance)
		}
	}

	remainingOK := func(s Subject, got, want int) bool {
		return got <= want && got >= want-s.RemainingSlack
	}

	t.Run("fresh key peeks the full burst", func(t *testing.T) {
		s := newSubject(t)
		r, err := s.Store.Peek(ctx, "k", lim)
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed != 0 || !remainingOK(s, r.Remaining, lim.Burst) || r.RetryAfter != -1 {
			t.Errorf("Peek = %+v, want Allowed 0, Remaining %d, RetryAfter -1", r, lim.Burst)
		}
		near(t, s, "ResetAfter", r.ResetAfter, 0)
	})

	t.Run("burst then refused with retry after one interval", func(t *testing.T) {
		s := newSubject(t)
		for i := range lim.Burst {
			r, err := s.Store.Allow(ctx, "k", lim)
			if err != nil {
				t.Fatal(err)
			}
			if r.Allowed != 1 || !remainingOK(s, r.Remaining, lim.Burst-1-i) || r.RetryAfter != -1 {
				t.Errorf("Allow %d = %+v, want Allowed 1, Remaining %d", i, r, lim.Burst-1-i)
			}
			near(t, s, "ResetAfter", r.ResetAfter, time.Duration(i+1)*interval)
		}
		r, err := s.Store.Allow(ctx, "k", lim)
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed != 0 || r.Remaining != 0 {
			t.Errorf("Allow past the burst = %+v, want refused", r)
		}
		near(t, s, "RetryAfter", r.RetryAfter, interval)
		near(t, s, "ResetAfter", r.ResetAfter, 3*interval)
		p, _ := s.Store.Peek(ctx, "k", lim)
		if p.Remaining != 0 {
			t.Errorf("Peek after the burst: Remaining %d, want 0", p.Remaining)
		}
	})

	t.Run("a cell frees after one interval", func(t *testing.T) {
		s := newSubject(t)
		for range lim.Burst {
			s.Store.Allow(ctx, "k", lim)
		}
		s.Sleep(interval + s.Tolerance)
		r, _ := s.Store.Allow(ctx, "k", lim)
		if r.Allowed != 1 || !remainingOK(s, r.Remaining, 0) {
			t.Errorf("Allow after an interval = %+v, want allowed with 0 remaining", r)
		}
		r, _ = s.Store.Allow(ctx, "k", lim)
		if r.Allowed != 0 {
			t.Errorf("second Allow = %+v, want refused", r)
		}
	})

	t.Run("peek takes nothing", func(t *testing.T) {
		s := newSubject(t)
		for range 10 {
			s.Store.Peek(ctx, "k", lim)
		}
		r, _ := s.Store.Allow(ctx, "k", lim)
		if !remainingOK(s, r.Remaining, lim.Burst-1) {
			t.Errorf("Allow after peeks: Remaining %d, want %d", r.Remaining, lim.Burst-1)
		}
	})

	t.Run("keys are independent", func(t *testing.T) {
		s := newSubject(t)
		for range lim.Burst {
			s.Store.Allow(ctx, "a", lim)
		}
		r, _ := s.Store.Allow(ctx, "b", lim)
		if r.Allowed != 1 || !remainingOK(s, r.Remaining, lim.Burst-1) {
			t.Errorf("other key: %+v", r)
		}
	})

	t.Run("full again after the reset", func(t *testing.T) {
		s := newSubject(t)
		var last quota.Result
		for range lim.Burst {
			last, _ = s.Store.Allow(ctx, "k", lim)
		}
		s.Sleep(last.ResetAfter + s.Tolerance)
		r, _ := s.Store.Peek(ctx, "k", lim)
		if !remainingOK(s, r.Remaining, lim.Burst) {
			t.Errorf("after ResetAfter: Remaining %d, want %d", r.Remaining, lim.Burst)
		}
	})

	t.Run("holds never shorten and expire", func(t *testing.T) {
		s := newSubject(t)
		if h, _ := s.Store.Held(ctx, "h"); !h.IsZero() {
			t.Errorf("Held of a new key = %v, want zero", h)
		}
		now := s.Now()
		long, short := now.Add(400*time.Millisecond), now.Add(200*time.Millisecond)
		if err := s.Store.Hold(ctx, "h", long); err != nil {
			t.Fatal(err)
		}
		if err := s.Store.Hold(ctx, "h", short); err != nil {
			t.Fatal(err)
		}
		h, err := s.Store.Held(ctx, "h")
		if err != nil {
			t.Fatal(err)
		}
		if d := h.Sub(long); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("Held = %v, want %v (a hold never shortens)", h, long)
		}
		if h, _ := s.Store.Held(ctx, "other"); !h.IsZero() {
			t.Errorf("Held of another key = %v, want zero", h)
		}
		s.Sleep(400*time.Millisecond + s.Tolerance + time.Millisecond)
		if h, _ := s.Store.Held(ctx, "h"); !h.IsZero() {
			t.Errorf("Held after the end = %v, want zero", h)
		}
	})
}
