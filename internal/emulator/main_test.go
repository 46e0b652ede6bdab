package emulator

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testClock is a clock tests can move forward.
type testClock struct {
	base   time.Time
	offset atomic.Int64
}

func newTestClock() *testClock               { return &testClock{base: time.Now()} }
func (c *testClock) Now() time.Time          { return c.base.Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// echoClaims stands in for the fake APIs: it answers 200 with the claims the
// token middleware put in the context and the path it saw.
func echoClaims(api string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := claims.From(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"api": api, "path": r.URL.Path, "hasClaims": ok,
			"tid": c.TenantID, "aud": c.Audience, "roles": c.Roles, "appid": c.AppID,
		})
	})
}

func stubAPIs(time.Time) (graph, xdr http.Handler) {
	return echoClaims(APIGraph), echoClaims(APIXDR)
}

// startTest starts an emulator with stub API handlers, closed at cleanup.
func startTest(t *testing.T, opts Options) *Emulator {
	t.Helper()
	opts.apis = stubAPIs
	e, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}
