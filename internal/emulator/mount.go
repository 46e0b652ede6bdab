package emulator

import (
	"net/http"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/graphapi"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/emulator/xdrapi"
)

// mountAPIs builds the fake Graph and XDR handlers over one shared store
// seeded at now. The Graph handler sees full paths (/v1.0/security/...), the
// XDR handler /api/... paths.
// The store is returned for the direct changes (UpdateIncident, ...).
func mountAPIs(now time.Time) (graph, xdr http.Handler, st *store.Store) {
	st = store.New(now)
	return graphapi.New(st), xdrapi.New(st), st
}
