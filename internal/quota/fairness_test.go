package quota_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/quota"
)

func TestFairnessFlooderVsSteady(t *testing.T) {
	const n = 60
	r := newRig(t, quota.Options{Budgets: budgets(map[quota.Family][]quota.Window{quota.FamilyIncidentRead: perMin(n)}, nil),
		MaxWait: time.Hour})
	ctx := context.Background()
	for range quota.SafeLimit(n, time.Minute).Burst {
		if err := r.s.Admit(ctx, call(quota.FamilyIncidentRead, "warmup")); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(caller string, k, total int) {
		for range k {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.s.Admit(ctx, call(quota.FamilyIncidentRead, caller)); err == nil {
					mu.Lock()
					order = append(order, caller)
					mu.Unlock()
				}
			}()
		}
		eventually(t, caller+"'s calls to queue", func() bool { return r.queued(t) == total })
	}
	enqueue("flooder", 30, 30)
	enqueue("steady", 6, 36)
	for i := 1; i <= 12; i++ {
		r.step(t, interval(n, time.Minute))
		eventually(t, "a grant", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == i })
	}
	mu.Lock()
	steady := 0
	for _, c := range order[:12] {
		if c == "steady" {
			steady++
		}
	}
	mu.Unlock()
	if steady != 6 {
		t.Errorf("steady got %d of the first 12 grants (%v), want 6", steady, order)
	}
	r.s.Close()
	wg.Wait()
}

func TestInteractiveReserveAndPriority(t *testing.T) {
	const n = 50 // whole API: burst 5, reserve ceil(0.2*5) = 1
	r := newRig(t, quota.Options{Budgets: budgets(map[quota.Family][]quota.Window{
		quota.FamilyHunting: perMin(1000), quota.FamilyIncidentGet: perMin(1000), quota.FamilyIncidentWrite: perMin(1000)}, perMin(n)), InteractiveShare: 0.2, MaxWait: time.Hour})
	ctx := context.Background()
	short, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	for i := range 4 {
		if err := r.s.Admit(ctx, call(quota.FamilyHunting, "bulk")); err != nil {
			t.Fatalf("bulk %d: %v", i, err)
		}
	}
	bulk := r.admitAsync(short, call(quota.FamilyHunting, "bulk"))
	eventually(t, "the bulk call past the reserve to queue", func() bool { return r.queued(t) == 1 })
	if err := r.s.Admit(ctx, call(quota.FamilyIncidentGet, "playbook")); err != nil {
		t.Fatalf("interactive call with the reserve free: %v", err)
	}
	// Now empty: a queued interactive call goes before the earlier bulk one.
	inter := r.admitAsync(ctx, call(quota.FamilyIncidentWrite, "playbook"))
	eventually(t, "both queued", func() bool { return r.queued(t) == 2 })
	r.step(t, interval(n, time.Minute))
	if err := <-inter; err != nil {
		t.Fatalf("interactive: %v", err)
	}
	select {
	case err := <-bulk:
		t.Fatalf("bulk admitted with the reserve's cell: %v", err)
	default:
	}
	r.step(t, interval(n, time.Minute))
	r.step(t, interval(n, time.Minute))
	if err := <-bulk; err != nil {
		t.Errorf("bulk: %v", err)
	}
}

// TestNeverExceedsWindow: over random arrivals of every family, no closed
// window of a budget's length sees more than its count admitted, for any
// family's windows or the whole API's.
func TestNeverExceedsWindow(t *testing.T) {
	b := quota.DefaultBudgets()
	xdr := b.Backends["xdr"]
	for seed := range uint64(4) {
		r := newRig(t, quota.Options{Budgets: b, MaxWait: time.Nanosecond})
		rng := rand.New(rand.NewPCG(seed, 1))
		admitted := map[quota.Family][]time.Time{}
		for range 6000 {
			r.clock.Advance(time.Duration(rng.Int64N(int64(1500 * time.Millisecond))))
			f := quota.Families[rng.IntN(len(quota.Families))]
			if r.s.Admit(context.Background(), call(f, "a")) == nil {
				admitted[f] = append(admitted[f], r.clock.Now())
				admitted[quota.FamilyWholeAPI] = append(admitted[quota.FamilyWholeAPI], r.clock.Now())
			}
		}
		check := func(f quota.Family, ws []quota.Window) {
			times := admitted[f]
			for _, w := range ws {
				j := 0
				for i := range times {
					for times[i].Sub(times[j]) > w.Per {
						j++
					}
					if n := i - j + 1; n > w.Count {
						t.Fatalf("seed %d: %s: %d admitted within %v, limit %d", seed, f, n, w.Per, w.Count)
					}
				}
			}
		}
		for _, f := range quota.Families {
			check(f, xdr.Families[f])
		}
		check(quota.FamilyWholeAPI, xdr.WholeAPI)
		if n := len(admitted[quota.FamilyWholeAPI]); n < 1000 {
			t.Errorf("seed %d: only %d admitted; the test exercises little", seed, n)
		}
	}
}
