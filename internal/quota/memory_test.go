package quota_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/quota"
	"github.com/defender-gateway/gateway/internal/quota/quotatest"
)

func TestMemoryStoreConformance(t *testing.T) {
	quotatest.StoreConformance(t, func(t *testing.T) quotatest.Subject {
		clock := quotatest.NewFakeClock(time.Now())
		return quotatest.Subject{Store: quota.NewMemoryStore(clock), Now: clock.Now, Sleep: clock.Sleep}
	})
}

// TestMemoryStoreEvicts: keys idle past their reset and ended holds are
// dropped, so memory is bounded by the keys in use.
func TestMemoryStoreEvicts(t *testing.T) {
	ctx := context.Background()
	clock := quotatest.NewFakeClock(time.Now())
	s := quota.NewMemoryStore(clock)
	lim := quota.SafeLimit(50, time.Minute)
	for i := range 100 {
		s.Allow(ctx, fmt.Sprint("k", i), lim)
		s.Hold(ctx, fmt.Sprint("h", i), clock.Now().Add(time.Second))
	}
	if n := s.Len(); n != 200 {
		t.Fatalf("Len = %d, want 200", n)
	}
	clock.Advance(2 * time.Second)
	if n := s.Len(); n != 0 {
		t.Errorf("Len after every key expired = %d, want 0", n)
	}
}
