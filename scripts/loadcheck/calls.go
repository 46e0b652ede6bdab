package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// errorDomain is the gateway's ErrorInfo domain.
const errorDomain = "defender.gateway"

// callFlags are the flags of the subcommands that call the gateway.
type callFlags struct {
	addr     string
	key      string
	timeout  time.Duration
	pageSize int
}

func (c *callFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:50051", "the gateway's gRPC address")
	fs.StringVar(&c.key, "key", "", "the caller's API key (x-api-key); empty sends none")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "each call's deadline")
	fs.IntVar(&c.pageSize, "page-size", 10, "ListIncidents page_size")
}

// outcome is one call's result.
type outcome struct {
	code    codes.Code
	latency time.Duration
	// retryDelay is the RetryInfo delay, -1 when there is none; reason the
	// ErrorInfo reason of the gateway's domain, "" when there is none.
	retryDelay time.Duration
	reason     string
}

// caller makes ListIncidents calls as one caller.
type caller struct {
	f      callFlags
	conn   *grpc.ClientConn
	client defenderv1.IncidentServiceClient
}

func newCaller(f callFlags) (*caller, error) {
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return &caller{f: f, conn: conn, client: defenderv1.NewIncidentServiceClient(conn)}, nil
}

func (c *caller) call() outcome {
	ctx, cancel := context.WithTimeout(context.Background(), c.f.timeout)
	defer cancel()
	if c.f.key != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-api-key", c.f.key)
	}
	start := time.Now()
	_, err := c.client.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: int32(c.f.pageSize)}) //nolint:gosec // a flag
	o := outcome{latency: time.Since(start), retryDelay: -1}
	st := status.Convert(err)
	o.code = st.Code()
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			o.retryDelay = d.GetRetryDelay().AsDuration()
		case *errdetails.ErrorInfo:
			if d.GetDomain() == errorDomain {
				o.reason = d.GetReason()
			}
		}
	}
	return o
}

// probeReport is probe's output.
type probeReport struct {
	Calls int            `json:"calls"`
	Codes map[string]int `json:"codes"`
	// Throttled is the RESOURCE_EXHAUSTED calls; WithRetryInfo those of
	// them with a positive RetryInfo delay; Reasons their ErrorInfo
	// reasons.
	Throttled       int            `json:"throttled"`
	WithRetryInfo   int            `json:"withRetryInfo"`
	Reasons         map[string]int `json:"reasons"`
	MinRetryDelayMs float64        `json:"minRetryDelayMs"`
	MaxRetryDelayMs float64        `json:"maxRetryDelayMs"`
}

// probe makes n calls spread over a period and checks that every
// RESOURCE_EXHAUSTED carries a positive RetryInfo and an ErrorInfo of the
// gateway's domain, and that no call ends with another error.
func probe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	var cf callFlags
	cf.register(fs)
	n := fs.Int("n", 20, "calls to make")
	spread := fs.Duration("spread", 2*time.Second, "period the calls are spread over")
	minThrottled := fs.Int("min-throttled", 1, "fail unless at least this many calls were throttled (the sample)")
	_ = fs.Parse(args)
	c, err := newCaller(cf)
	if err != nil {
		return err
	}
	defer c.conn.Close()

	outs := make([]outcome, *n)
	var wg sync.WaitGroup
	for i := range *n {
		wg.Go(func() { outs[i] = c.call() })
		time.Sleep(*spread / time.Duration(*n))
	}
	wg.Wait()

	r := probeReport{Calls: *n, Codes: map[string]int{}, Reasons: map[string]int{}, MinRetryDelayMs: -1}
	var errs []error
	for _, o := range outs {
		r.Codes[o.code.String()]++
		switch o.code {
		case codes.OK:
		case codes.ResourceExhausted:
			r.Throttled++
			r.Reasons[o.reason]++
			if o.retryDelay > 0 {
				r.WithRetryInfo++
				ms := float64(o.retryDelay) / float64(time.Millisecond)
				if r.MinRetryDelayMs < 0 || ms < r.MinRetryDelayMs {
					r.MinRetryDelayMs = ms
				}
				r.MaxRetryDelayMs = max(r.MaxRetryDelayMs, ms)
			}
		default:
			errs = append(errs, fmt.Errorf("a call ended with %s (reason %q), not OK or RESOURCE_EXHAUSTED", o.code, o.reason))
		}
	}
	if r.WithRetryInfo != r.Throttled {
		errs = append(errs, fmt.Errorf("%d of %d RESOURCE_EXHAUSTED calls had no positive RetryInfo", r.Throttled-r.WithRetryInfo, r.Throttled))
	}
	if n := r.Reasons[""]; n > 0 {
		errs = append(errs, fmt.Errorf("%d RESOURCE_EXHAUSTED calls had no ErrorInfo of domain %s", n, errorDomain))
	}
	if r.Throttled < *minThrottled {
		errs = append(errs, fmt.Errorf("only %d calls were throttled; the sample needs %d", r.Throttled, *minThrottled))
	}
	if err := printJSON(r); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// steadyReport is steady's output.
type steadyReport struct {
	Calls       int            `json:"calls"`
	OK          int            `json:"ok"`
	SuccessRate float64        `json:"successRate"`
	Codes       map[string]int `json:"codes"`
	Reasons     map[string]int `json:"reasons"`
	// P50Ms and P99Ms are the latencies of the successful calls; AllP50Ms
	// and AllP99Ms of every call.
	P50Ms    float64 `json:"p50Ms"`
	P99Ms    float64 `json:"p99Ms"`
	AllP50Ms float64 `json:"allP50Ms"`
	AllP99Ms float64 `json:"allP99Ms"`
}

// steady is a caller at a low, constant rate: one call every 1/rate
// seconds for the duration, each on its own goroutine so that a slow call
// does not delay the next.
func steady(args []string) error {
	fs := flag.NewFlagSet("steady", flag.ExitOnError)
	var cf callFlags
	cf.register(fs)
	rate := fs.Float64("rate", 0.25, "calls per second")
	duration := fs.Duration("duration", 30*time.Second, "how long to call")
	minSuccess := fs.Float64("min-success", 0, "fail when the success rate is below this (0 to 1)")
	_ = fs.Parse(args)
	if *rate <= 0 {
		return errors.New("-rate must be positive")
	}
	c, err := newCaller(cf)
	if err != nil {
		return err
	}
	defer c.conn.Close()

	every := time.Duration(float64(time.Second) / *rate)
	var (
		mu   sync.Mutex
		outs []outcome
		wg   sync.WaitGroup
	)
	end := time.Now().Add(*duration)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for t := time.Now(); t.Before(end); t = <-tick.C {
		wg.Go(func() {
			o := c.call()
			mu.Lock()
			outs = append(outs, o)
			mu.Unlock()
		})
	}
	wg.Wait()

	r := steadyReport{Calls: len(outs), Codes: map[string]int{}, Reasons: map[string]int{}}
	var okLat, allLat []time.Duration
	for _, o := range outs {
		r.Codes[o.code.String()]++
		allLat = append(allLat, o.latency)
		if o.code == codes.OK {
			r.OK++
			okLat = append(okLat, o.latency)
		} else {
			r.Reasons[o.reason]++
		}
	}
	if r.Calls > 0 {
		r.SuccessRate = float64(r.OK) / float64(r.Calls)
	}
	r.P50Ms, r.P99Ms = percentileMs(okLat, 50), percentileMs(okLat, 99)
	r.AllP50Ms, r.AllP99Ms = percentileMs(allLat, 50), percentileMs(allLat, 99)
	if err := printJSON(r); err != nil {
		return err
	}
	if r.SuccessRate < *minSuccess {
		return fmt.Errorf("the steady caller's success rate %.2f is below %.2f (codes %v)", r.SuccessRate, *minSuccess, r.Codes)
	}
	return nil
}

// percentileMs is the p-th percentile (nearest rank) of ds in
// milliseconds; -1 when ds is empty.
func percentileMs(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return -1
	}
	s := slices.Sorted(slices.Values(ds))
	i := (p*len(s)+99)/100 - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i]) / float64(time.Millisecond)
}

// sortedKeys is m's keys in order (for stable messages).
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
