package server

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"
)

// Go's runtime profiles (net/http/pprof) on the admin listener, with
// DEFENDER_PPROF. A CPU profile or an execution trace runs for its
// ?seconds= (30 by default) before it answers, so these routes get
// pprofWriteTimeout rather than the admin listener's 30s, and a longer
// request is refused rather than cut off.
const (
	pprofWriteTimeout = 2 * time.Minute
	pprofMaxSeconds   = 90
)

// registerPprof adds the /debug/pprof/ routes to mux.
func registerPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index) // and every named profile: heap, goroutine, allocs, ...
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.Handle("GET /debug/pprof/profile", boundedSeconds(http.HandlerFunc(pprof.Profile)))
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.Handle("GET /debug/pprof/trace", boundedSeconds(http.HandlerFunc(pprof.Trace)))
}

// boundedSeconds refuses a ?seconds= beyond pprofMaxSeconds, which the
// write deadline could not cover.
func boundedSeconds(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("seconds"); v != "" {
			if n, err := strconv.ParseFloat(v, 64); err != nil || n <= 0 || n > pprofMaxSeconds {
				http.Error(w, fmt.Sprintf("seconds: must be a number above 0 and at most %d", pprofMaxSeconds), http.StatusBadRequest)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isPprof(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/debug/pprof/") }
