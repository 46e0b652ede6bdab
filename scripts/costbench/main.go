package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

const (
	benchIncident = "1000"
	benchPageSize = 50
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "emulator":
		err = serveEmulator()
	case len(os.Args) > 1 && os.Args[1] == "direct":
		err = runDirect(os.Args[2:])
	default:
		err = run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "costbench:", err)
		os.Exit(1)
	}
}

// measurement is one row of the table.
type measurement struct {
	path, op string
	calls    int
	upstream int // the API requests the emulator accepted during the load
	cpu      time.Duration
	peakRSS  int64
}

func (m measurement) msPerCall() float64 { return perCall(m.cpu, m.calls) }

// settings are the run's flags.
type settings struct {
	getCalls, listCalls, warm, concurrency int
	bin, ghz, logLevel, backend            string
	coalesce                               bool
}

func run() error {
	var s settings
	quick := flag.Bool("quick", false, "small call counts: proves the benchmark runs, measures nothing worth keeping")
	flag.IntVar(&s.getCalls, "get-calls", 10000, "GetIncident calls per path")
	flag.IntVar(&s.listCalls, "list-calls", 2000, "ListIncidents calls per path")
	flag.IntVar(&s.warm, "warm", 200, "calls before each measurement (tokens, connections)")
	flag.IntVar(&s.concurrency, "c", 50, "concurrent calls")
	flag.StringVar(&s.bin, "bin", "", "the gateway binary (default: go build ./cmd/server into a temporary directory)")
	flag.StringVar(&s.ghz, "ghz", "", "the ghz binary (default: ghz on PATH, then $(go env GOPATH)/bin/ghz)")
	flag.StringVar(&s.logLevel, "log-level", "info", "the gateway's log level (its log goes to a temporary file)")
	flag.StringVar(&s.backend, "backend", "graph", "graph or xdr")
	flag.BoolVar(&s.coalesce, "coalesce", false, "keep the gateway's coalescing of identical concurrent reads (off: every call goes upstream, as the direct client's do)")
	flag.Parse()
	if *quick {
		s.getCalls, s.listCalls, s.warm = 300, 100, 50
	}
	if _, ok := upstreams[s.backend]; !ok {
		return fmt.Errorf("-backend %q: graph or xdr", s.backend)
	}
	if s.getCalls <= 0 || s.listCalls <= 0 || s.warm <= 0 || s.concurrency <= 0 {
		return errors.New("-get-calls, -list-calls, -warm and -c must be positive")
	}
	var err error
	if s.ghz, err = findGhz(s.ghz); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "costbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if s.bin == "" {
		s.bin = filepath.Join(dir, "defender-gateway")
		build := exec.Command("go", "build", "-o", s.bin, "./cmd/server")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	emu, err := startEmulator(self)
	if err != nil {
		return err
	}
	defer emu.stop()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte(emu.info.CAPEM), 0o600); err != nil {
		return err
	}
	var rows []measurement
	for _, op := range []string{"get", "list"} {
		n := s.getCalls
		if op == "list" {
			n = s.listCalls
		}
		for _, path := range []string{"direct", "grpc", "rest"} {
			var m measurement
			if path == "direct" {
				m, err = measureDirect(self, dir, emu, s, op, n)
			} else {
				m, err = measureGateway(dir, emu, s, path, op, n)
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", path, op, err)
			}
			rows = append(rows, m)
		}
	}
	host, _ := os.Hostname()
	fmt.Printf("costbench: %d concurrent calls, %s backend, GOMAXPROCS %d, NumCPU %d on %s, gateway log level %s, coalescing %v\n\n",
		s.concurrency, s.backend, runtime.GOMAXPROCS(0), runtime.NumCPU(), host, s.logLevel, s.coalesce)
	fmt.Print(table(rows))
	// -quick asserts only sanity: every call OK (checked above), one
	// upstream request per call, and every ratio computed, which needs some
	// CPU time measured on every row. The table is printed first.
	for _, m := range rows {
		if m.cpu <= 0 {
			return fmt.Errorf("%s %s: no CPU time measured over %d calls: raise the call counts", m.path, m.op, m.calls)
		}
		if (m.path == "direct" || !s.coalesce) && m.upstream != m.calls {
			return fmt.Errorf("%s %s: %d upstream requests for %d calls, want one each", m.path, m.op, m.upstream, m.calls)
		}
	}
	return nil
}

// measureDirect runs the direct baseline in its own process.
func measureDirect(self, dir string, emu *emulatorProcess, s settings, op string, n int) (measurement, error) {
	cmd := exec.Command(self, "direct", "-op", op, "-n", fmt.Sprint(n), "-c", fmt.Sprint(s.concurrency),
		"-warm", fmt.Sprint(s.warm), "-authority", emu.info.AuthorityHost, "-backend", s.backend, "-api", emu.info.apiURL(s.backend))
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+filepath.Join(dir, "ca.pem"))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childAttr()
	before, err := emu.apiRequests()
	if err != nil {
		return measurement{}, err
	}
	out, err := cmd.Output()
	if err != nil {
		return measurement{}, fmt.Errorf("direct child: %w", err)
	}
	after, err := emu.apiRequests()
	if err != nil {
		return measurement{}, err
	}
	var rep childReport
	if err := json.Unmarshal(bytes.TrimSpace(out), &rep); err != nil {
		return measurement{}, fmt.Errorf("direct child report: %w", err)
	}
	if rep.Error != "" || rep.OK != rep.Calls {
		return measurement{}, fmt.Errorf("direct: %d of %d OK: %s", rep.OK, rep.Calls, rep.Error)
	}
	// The child's warm-up calls are counted too: one upstream request each.
	return measurement{path: "direct", op: op, calls: rep.Calls, upstream: after - before - s.warm,
		cpu: time.Duration(rep.CPUNanos), peakRSS: rep.PeakRSS}, nil
}

// measureGateway starts a fresh gateway, warms it, then measures the
// gateway process's CPU time around n calls of op over path.
func measureGateway(dir string, emu *emulatorProcess, s settings, path, op string, n int) (measurement, error) {
	g, err := startGateway(s.bin, dir, emu.info, s, filepath.Join(dir, "gateway.log"))
	if err != nil {
		return measurement{}, err
	}
	defer g.stop()
	load := func(calls int) (int, error) {
		if path == "grpc" {
			made, ok, err := runGhz(s.ghz, g.grpcAddr, op, calls, s.concurrency)
			if err == nil && made != calls {
				err = fmt.Errorf("ghz made %d calls, want %d", made, calls)
			}
			return ok, err
		}
		hc := restClient(s.concurrency)
		defer hc.CloseIdleConnections()
		return loop(calls, s.concurrency, restCall(hc, "http://"+g.httpAddr, op))
	}
	check := func() error { return checkGRPC(g.grpcAddr, op) }
	if path == "rest" {
		check = func() error {
			hc := restClient(1)
			defer hc.CloseIdleConnections()
			return checkREST(hc, "http://"+g.httpAddr, op)
		}
	}
	if err := check(); err != nil {
		return measurement{}, err
	}
	if _, err := load(s.warm); err != nil {
		return measurement{}, fmt.Errorf("warm-up: %w", err)
	}
	pid := g.cmd.Process.Pid
	reqBefore, err := emu.apiRequests()
	if err != nil {
		return measurement{}, err
	}
	before, err := processCPU(pid)
	if err != nil {
		return measurement{}, err
	}
	ok, callErr := load(n)
	after, err := processCPU(pid)
	if err != nil {
		return measurement{}, err
	}
	reqAfter, err := emu.apiRequests()
	if err != nil {
		return measurement{}, err
	}
	if callErr != nil || ok != n {
		return measurement{}, fmt.Errorf("%d of %d OK: %v", ok, n, callErr)
	}
	rss, err := peakRSS(pid)
	if err != nil {
		return measurement{}, err
	}
	return measurement{path: path, op: op, calls: n, upstream: reqAfter - reqBefore, cpu: after - before, peakRSS: rss}, nil
}

// findGhz is the ghz binary to use.
func findGhz(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath("ghz"); err == nil {
		return p, nil
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(string(bytes.TrimSpace(gopath)), "bin", "ghz")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("ghz not found: go install github.com/bojand/ghz/cmd/ghz@v0.93.0")
}
