package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// quotaJSON is the part of GET /v1/tenants/default/quota read here.
type quotaJSON struct {
	Budgets []struct {
		Family     string `json:"family"`
		Window     string `json:"window"`
		Limit      int    `json:"limit"`
		Remaining  int    `json:"remaining"`
		ResetAfter string `json:"resetAfter"`
		Queued     int    `json:"queued"`
	} `json:"budgets"`
}

// summary prints load.sh's result table from the files its runs left in
// -dir. It checks nothing: the runs did.
func summary(args []string) error {
	fs := flag.NewFlagSet("summary", flag.ExitOnError)
	dir := fs.String("dir", ".", "load.sh's work directory")
	callers := fs.Int("callers", 1000, "the load run's concurrency")
	loadFor := fs.String("load-for", "", "the load run's duration")
	loadRPS := fs.Int("load-rps", 0, "the load run's rate")
	steadyRate := fs.Float64("steady-rate", 0, "the steady caller's rate")
	fairFor := fs.String("fair-for", "", "the fairness runs' duration")
	settle := fs.String("settle", "", "the settle period")
	_ = fs.Parse(args)
	read := func(name string, v any) error {
		data, err := os.ReadFile(filepath.Join(*dir, name+".json"))
		if err != nil {
			return err
		}
		return json.Unmarshal(data, v)
	}
	var (
		load, floodOn, floodOff ghzSummary
		probe                   probeReport
		loadStats, onSt, offSt  statsSummary
		steadyOn, steadyOff     steadyReport
		grow                    struct {
			Goroutines      [2]int     `json:"goroutines"`
			GoroutinesLimit int        `json:"goroutinesLimit"`
			OpenFDs         [2]int     `json:"openFds"`
			OpenFDsLimit    int        `json:"openFdsLimit"`
			RSSMiB          [2]float64 `json:"rssMiB"`
			RSSLimitMiB     float64    `json:"rssLimitMiB"`
			HeapInuseMiB    [2]float64 `json:"heapInuseMiB"`
		}
		q quotaJSON
	)
	var errs []error
	for name, v := range map[string]any{
		"load-summary": &load, "flood-on-summary": &floodOn, "flood-off-summary": &floodOff, "probe": &probe,
		"load-stats": &loadStats, "fair-on-stats": &onSt, "fair-off-stats": &offSt,
		"steady-on": &steadyOn, "steady-off": &steadyOff, "growth": &grow, "quota": &q,
	} {
		if err := read(name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	fmt.Printf("1. %d concurrent callers, %s, %d calls/s in all: %d calls, codes %v; OK p50/p99 %.0f/%.0f ms, all calls p50/p99 %.1f/%.1f ms\n",
		*callers, *loadFor, *loadRPS, load.Calls, load.Codes, load.OKP50Ms, load.OKP99Ms, load.AllP50Ms, load.AllP99Ms)
	fmt.Printf("   probe: %d of %d throttled, %d with RetryInfo (%.0f..%.0f ms), reasons %v; upstream: %d accepted, %d 429s\n",
		probe.Throttled, probe.Calls, probe.WithRetryInfo, probe.MinRetryDelayMs, probe.MaxRetryDelayMs, probe.Reasons,
		loadStats.Accepted, loadStats.Throttled)
	for _, b := range q.Budgets {
		if b.Family == "QUOTA_FAMILY_INCIDENT_READ" || b.Family == "QUOTA_FAMILY_WHOLE_API" {
			fmt.Printf("   GetQuota during the run: %s %s limit %d remaining %d reset_after %s queued %d\n",
				b.Family, b.Window, b.Limit, b.Remaining, b.ResetAfter, b.Queued)
		}
	}
	fmt.Printf("2. steady caller (%.2f/s) beside the flood, %s:\n", *steadyRate, *fairFor)
	fmt.Printf("   %-10s %6s %8s %8s %8s %9s %13s  %s\n", "scheduler", "calls", "success", "p50 ms", "p99 ms", "flood OK", "upstream 429s", "steady codes")
	for _, r := range []struct {
		name   string
		s      steadyReport
		flood  ghzSummary
		limits statsSummary
	}{{"on", steadyOn, floodOn, onSt}, {"off", steadyOff, floodOff, offSt}} {
		fmt.Printf("   %-10s %6d %7.0f%% %8.0f %8.0f %9d %13d  %v\n", r.name, r.s.Calls, 100*r.s.SuccessRate, r.s.P50Ms, r.s.P99Ms,
			r.flood.OK, r.limits.Throttled, r.s.Codes)
	}
	fmt.Printf("3. after %s settle: goroutines %d → %d (limit %d), fds %d → %d (limit %d), RSS %.1f → %.1f MiB (limit %.1f), heap in use %.1f → %.1f MiB\n",
		*settle, grow.Goroutines[0], grow.Goroutines[1], grow.GoroutinesLimit, grow.OpenFDs[0], grow.OpenFDs[1], grow.OpenFDsLimit,
		grow.RSSMiB[0], grow.RSSMiB[1], grow.RSSLimitMiB, grow.HeapInuseMiB[0], grow.HeapInuseMiB[1])
	return errors.Join(errs...)
}
