package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loop makes n calls of fn from c goroutines and returns how many
// succeeded and the first error.
func loop(n, c int, fn func(context.Context) error) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var (
		next, ok atomic.Int64
		once     sync.Once
		first    error
		wg       sync.WaitGroup
	)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := fn(ctx); err != nil {
					once.Do(func() { first = err })
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(ok.Load()), first
}

// ghzReport is the part of ghz's JSON report that costbench reads.
type ghzReport struct {
	Count        int            `json:"count"`
	StatusCodes  map[string]int `json:"statusCodeDistribution"`
	ErrorsByText map[string]int `json:"errorDistribution"`
}

// ghzCall is an RPC that ghz makes, with its request as JSON.
type ghzCall struct {
	method string
	data   string
}

var ghzCalls = map[string]ghzCall{
	"get":  {"defender.v1.IncidentService.GetIncident", `{"name":"tenants/default/incidents/` + benchIncident + `"}`},
	"list": {"defender.v1.IncidentService.ListIncidents", fmt.Sprintf(`{"parent":"tenants/default","page_size":%d}`, benchPageSize)},
}

// runGhz makes n calls of op with ghz at concurrency c on one connection
// (the service's schema from server reflection) and returns the calls made
// and those that were OK.
func runGhz(ghz, addr, op string, n, c int) (calls, ok int, err error) {
	call := ghzCalls[op]
	cmd := exec.Command(ghz, "--insecure", "--call", call.method, "-d", call.data,
		"-n", strconv.Itoa(n), "-c", strconv.Itoa(c), "-t", "60s", "--format", "json", addr)
	cmd.SysProcAttr = childAttr()
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("ghz: %w", err)
	}
	var rep ghzReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return 0, 0, fmt.Errorf("ghz report: %w", err)
	}
	if rep.StatusCodes["OK"] != rep.Count {
		return rep.Count, rep.StatusCodes["OK"], fmt.Errorf("ghz: status codes %v, errors %v", rep.StatusCodes, rep.ErrorsByText)
	}
	return rep.Count, rep.StatusCodes["OK"], nil
}

// restCall is one REST call of op against the gateway at base: a GET whose
// body is read to the end (the client's decoding is not measured: this
// process is not the gateway).
func restCall(hc *http.Client, base, op string) func(context.Context) error {
	url := base + "/v1/tenants/default/incidents/" + benchIncident
	if op == "list" {
		url = fmt.Sprintf("%s/v1/tenants/default/incidents?page_size=%d", base, benchPageSize)
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || n == 0 {
			return fmt.Errorf("REST %s: HTTP %d, %d bytes", op, resp.StatusCode, n)
		}
		return nil
	}
}

// restClient keeps c idle connections to the gateway.
func restClient(c int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = c
	tr.MaxIdleConns = 2 * c
	return &http.Client{Transport: tr, Timeout: time.Minute}
}
