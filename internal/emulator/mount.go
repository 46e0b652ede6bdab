package emulator

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/graphapi"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/emulator/xdrapi"
)

// mountAPIs builds the fake Graph and XDR handlers over one shared store
// seeded at now. The Graph handler sees full paths (/v1.0/security/...), the
// XDR handler /api/... paths.
// huntingRows counts the rows both write to hunting response bodies.
func mountAPIs(now time.Time) (graph, xdr http.Handler, huntingRows *atomic.Int64) {
	st := store.New(now)
	return graphapi.New(st), xdrapi.New(st), st.HuntingRowsCounter()
}
