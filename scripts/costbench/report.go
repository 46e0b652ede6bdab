package main

import (
	"fmt"
	"strings"
)

// goals are issue 10's CPU targets: the gateway's CPU per call at most this
// many times the direct client's.
var goals = map[string]float64{"get": 1.5, "list": 1.3}

// table renders the measurements as a Markdown table, each gateway path's
// CPU per call as a ratio to the direct client's for the same operation.
func table(rows []measurement) string {
	direct := map[string]float64{}
	for _, m := range rows {
		if m.path == "direct" {
			direct[m.op] = m.msPerCall()
		}
	}
	var b strings.Builder
	b.WriteString("| Path | Op | Calls | Upstream/call | CPU ms/call | Ratio to direct | Goal | Peak RSS (MiB) |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, m := range rows {
		r, goal := "1", "—"
		if m.path != "direct" {
			r = fmt.Sprintf("%.2f×", ratio(m.msPerCall(), direct[m.op]))
			goal = fmt.Sprintf("≤ %.1f×", goals[m.op])
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.2f | %.3f | %s | %s | %.1f |\n", m.path, m.op, m.calls,
			ratio(float64(m.upstream), float64(m.calls)), m.msPerCall(), r, goal, float64(m.peakRSS)/(1<<20))
	}
	return b.String()
}
