package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	return enc.Encode(v)
}

// freePorts prints n free loopback TCP ports, one a line. They are free
// when it looks; the gateway binds them a moment later.
func freePorts(args []string) error {
	fs := flag.NewFlagSet("freeports", flag.ExitOnError)
	_ = fs.Parse(args)
	n := 1
	if fs.NArg() > 0 {
		var err error
		if n, err = strconv.Atoi(fs.Arg(0)); err != nil || n < 1 {
			return errors.New("the argument is how many ports, at least 1")
		}
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// ghzJSON is the part of ghz's JSON report (-O json) read here.
type ghzJSON struct {
	Count                  int            `json:"count"`
	RPS                    float64        `json:"rps"`
	StatusCodeDistribution map[string]int `json:"statusCodeDistribution"`
	ErrorDistribution      map[string]int `json:"errorDistribution"`
	Details                []struct {
		Latency time.Duration `json:"latency"`
		Status  string        `json:"status"`
	} `json:"details"`
}

// ghzSummary is ghz's output.
type ghzSummary struct {
	Calls int            `json:"calls"`
	RPS   float64        `json:"rps"`
	Codes map[string]int `json:"codes"`
	// OK is the successful calls; OKP50Ms and OKP99Ms their latencies,
	// AllP50Ms and AllP99Ms those of every call.
	OK       int     `json:"ok"`
	OKP50Ms  float64 `json:"okP50Ms"`
	OKP99Ms  float64 `json:"okP99Ms"`
	AllP50Ms float64 `json:"allP50Ms"`
	AllP99Ms float64 `json:"allP99Ms"`
}

// ghzReport reads a ghz JSON report and fails when a call ended with a
// status not in -allow.
func ghzReport(args []string) error {
	fs := flag.NewFlagSet("ghz", flag.ExitOnError)
	allow := fs.String("allow", "OK,ResourceExhausted", "the statuses calls may end with (ghz's names), comma-separated")
	minOK := fs.Int("min-ok", 1, "fail unless at least this many calls succeeded")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("the argument is the ghz JSON report")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var g ghzJSON
	if err := json.Unmarshal(data, &g); err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	s := ghzSummary{Calls: g.Count, RPS: g.RPS, Codes: g.StatusCodeDistribution}
	var okLat, allLat []time.Duration
	for _, d := range g.Details {
		allLat = append(allLat, d.Latency)
		if d.Status == "OK" {
			okLat = append(okLat, d.Latency)
		}
	}
	s.OK = len(okLat)
	s.OKP50Ms, s.OKP99Ms = percentileMs(okLat, 50), percentileMs(okLat, 99)
	s.AllP50Ms, s.AllP99Ms = percentileMs(allLat, 50), percentileMs(allLat, 99)
	if err := printJSON(s); err != nil {
		return err
	}
	allowed := map[string]bool{}
	for _, c := range strings.Split(*allow, ",") {
		allowed[strings.TrimSpace(c)] = true
	}
	var errs []error
	for _, c := range sortedKeys(g.StatusCodeDistribution) {
		if !allowed[c] && g.StatusCodeDistribution[c] > 0 {
			errs = append(errs, fmt.Errorf("%d calls ended with %s (allowed: %s)", g.StatusCodeDistribution[c], c, *allow))
		}
	}
	if len(errs) > 0 {
		for _, m := range sortedKeys(g.ErrorDistribution) {
			fmt.Fprintf(os.Stderr, "  %6d × %s\n", g.ErrorDistribution[m], m)
		}
	}
	if s.OK < *minOK {
		errs = append(errs, fmt.Errorf("%d calls succeeded, fewer than %d", s.OK, *minOK))
	}
	return errors.Join(errs...)
}

// routeStats is one entry of the emulator control API's GET stats.
type routeStats struct {
	API        string `json:"api"`
	TenantID   string `json:"tenantId"`
	Route      string `json:"route"`
	Accepted   int    `json:"accepted"`
	Limited    int    `json:"limited"`
	Faulted429 int    `json:"faulted429"`
	Windows    []struct {
		Count       int    `json:"count"`
		Per         string `json:"per"`
		MaxAccepted int    `json:"maxAccepted"`
	} `json:"windows"`
}

// statsSummary is stats' output.
type statsSummary struct {
	// Accepted and Throttled (the limiter's 429s plus injected ones) sum
	// every route but whole-api; Routes is the accepted requests per
	// route.
	Accepted  int            `json:"accepted"`
	Throttled int            `json:"throttled"`
	Routes    map[string]int `json:"routes"`
	// OverLimit names a window whose sliding maximum exceeded its count.
	OverLimit []string `json:"overLimit,omitempty"`
}

// emulatorStats reads the emulator's stats through the sandbox's control
// API and fails when any request was throttled (with -max-throttled 0) or
// any window ever held more than its count.
func emulatorStats(args []string) error {
	fs := flag.NewFlagSet("stats", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080/sandbox/emulator/stats", "the control API's stats URL")
	maxThrottled := fs.Int("max-throttled", -1, "fail when more requests than this were throttled upstream; -1 checks nothing")
	_ = fs.Parse(args)
	body, err := get(*url)
	if err != nil {
		return err
	}
	var rs []routeStats
	if err := json.Unmarshal(body, &rs); err != nil {
		return fmt.Errorf("%s: %w", *url, err)
	}
	s := statsSummary{Routes: map[string]int{}}
	for _, r := range rs {
		for _, w := range r.Windows {
			if w.MaxAccepted > w.Count {
				s.OverLimit = append(s.OverLimit, fmt.Sprintf("%s %s %s: %d in %s (limit %d)", r.API, r.TenantID, r.Route, w.MaxAccepted, w.Per, w.Count))
			}
		}
		if r.Route == "whole-api" {
			continue
		}
		s.Accepted += r.Accepted
		s.Throttled += r.Limited + r.Faulted429
		s.Routes[r.API+"/"+r.Route] += r.Accepted
	}
	if err := printJSON(s); err != nil {
		return err
	}
	var errs []error
	if *maxThrottled >= 0 && s.Throttled > *maxThrottled {
		errs = append(errs, fmt.Errorf("the upstream answered %d requests with 429 (at most %d allowed)", s.Throttled, *maxThrottled))
	}
	for _, o := range s.OverLimit {
		errs = append(errs, fmt.Errorf("window over its limit: %s", o))
	}
	return errors.Join(errs...)
}

func get(url string) ([]byte, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url) //nolint:noctx // a one-shot tool
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return body, nil
}

// sample is one reading of the gateway's process: metrics' output and
// growth's input.
type sample struct {
	Goroutines    int   `json:"goroutines"`
	Threads       int   `json:"threads"`
	RSSBytes      int64 `json:"rssBytes"`
	HeapInuse     int64 `json:"heapInuseBytes"`
	OpenFDs       int   `json:"openFds"`
	ProcRSSBytes  int64 `json:"procRssBytes,omitempty"`
	ProcThreads   int   `json:"procThreads,omitempty"`
	HasProcStatus bool  `json:"hasProcStatus"`
}

// metrics reads the gateway's /metrics (the Go and process collectors)
// and, with -pid, /proc/PID/status.
func metrics(args []string) error {
	fs := flag.NewFlagSet("metrics", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080/metrics", "the gateway's /metrics URL")
	pid := fs.Int("pid", 0, "the gateway's process id, to read /proc/PID/status too")
	_ = fs.Parse(args)
	body, err := get(*url)
	if err != nil {
		return err
	}
	var s sample
	vals := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, v, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			vals[name] = f
		}
	}
	for _, m := range []string{"go_goroutines", "go_threads", "process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "process_open_fds"} {
		if _, ok := vals[m]; !ok {
			return fmt.Errorf("%s has no %s", *url, m)
		}
	}
	s.Goroutines = int(vals["go_goroutines"])
	s.Threads = int(vals["go_threads"])
	s.RSSBytes = int64(vals["process_resident_memory_bytes"])
	s.HeapInuse = int64(vals["go_memstats_heap_inuse_bytes"])
	s.OpenFDs = int(vals["process_open_fds"])
	if *pid > 0 {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", *pid))
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(st), "\n") {
			k, v, _ := strings.Cut(line, ":")
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			n, _ := strconv.ParseInt(f[0], 10, 64)
			switch k {
			case "VmRSS":
				s.ProcRSSBytes = n * 1024
			case "Threads":
				s.ProcThreads = int(n)
			}
		}
		s.HasProcStatus = true
	}
	return printJSON(s)
}

// growth compares two samples and fails when the second grew beyond the
// tolerances.
func growth(args []string) error {
	fs := flag.NewFlagSet("growth", flag.ExitOnError)
	goroutineSlack := fs.Int("goroutines-slack", 10, "goroutines the second sample may have beyond the first")
	fdSlack := fs.Int("fds-slack", 5, "open file descriptors the second sample may have beyond the first")
	rssRatio := fs.Float64("rss-ratio", 1.25, "the most RSS may grow, as a ratio of the first sample's")
	rssSlackMiB := fs.Int64("rss-slack-mib", 16, "RSS growth always tolerated, in MiB, on top of the ratio")
	_ = fs.Parse(args)
	if fs.NArg() != 2 {
		return errors.New("the arguments are the before and after samples (metrics output files)")
	}
	var s [2]sample
	for i := range s {
		data, err := os.ReadFile(fs.Arg(i))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &s[i]); err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(i), err)
		}
	}
	before, after := s[0], s[1]
	rssLimit := int64(float64(before.RSSBytes)**rssRatio) + *rssSlackMiB<<20
	out := map[string]any{
		"goroutines":      [2]int{before.Goroutines, after.Goroutines},
		"goroutinesLimit": before.Goroutines + *goroutineSlack,
		"openFds":         [2]int{before.OpenFDs, after.OpenFDs},
		"openFdsLimit":    before.OpenFDs + *fdSlack,
		"rssMiB":          [2]float64{mib(before.RSSBytes), mib(after.RSSBytes)},
		"rssLimitMiB":     mib(rssLimit),
		"heapInuseMiB":    [2]float64{mib(before.HeapInuse), mib(after.HeapInuse)},
	}
	if err := printJSON(out); err != nil {
		return err
	}
	var errs []error
	if after.Goroutines > before.Goroutines+*goroutineSlack {
		errs = append(errs, fmt.Errorf("goroutines grew from %d to %d (tolerance +%d)", before.Goroutines, after.Goroutines, *goroutineSlack))
	}
	if after.OpenFDs > before.OpenFDs+*fdSlack {
		errs = append(errs, fmt.Errorf("open file descriptors grew from %d to %d (tolerance +%d)", before.OpenFDs, after.OpenFDs, *fdSlack))
	}
	if after.RSSBytes > rssLimit {
		errs = append(errs, fmt.Errorf("RSS grew from %.1f MiB to %.1f MiB (tolerance %.1f MiB)", mib(before.RSSBytes), mib(after.RSSBytes), mib(rssLimit)))
	}
	return errors.Join(errs...)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
