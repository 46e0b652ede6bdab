package defender

import (
	"testing"
	"time"
)

func TestBackoffFullJitterBounds(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, BaseDelay: 200 * time.Millisecond, MaxDelay: time.Second}
	top := func(n int64) int64 { return n - 1 }
	zero := func(int64) int64 { return 0 }
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i, w := range want {
		if got := p.Backoff(i+1, top); got != w {
			t.Errorf("backoff(%d) ceiling = %v, want %v", i+1, got, w)
		}
		if got := p.Backoff(i+1, zero); got != 0 {
			t.Errorf("backoff(%d) floor = %v, want 0", i+1, got)
		}
	}
	if got := (RetryPolicy{}).Backoff(3, top); got != 0 {
		t.Errorf("zero policy backoff = %v, want 0", got)
	}
}
