package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		if err := baseline(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "streambench baseline:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "streambench:", err)
		os.Exit(1)
	}
}

// result is one measurement.
type result struct {
	method    string
	rows      int
	firstRow  time.Duration
	total     time.Duration
	peakRSS   int64 // bytes, the child's VmHWM
	err       string
	bodyBytes int64
}

func run() error {
	rowsFlag := flag.String("rows", "1000,10000,100000", "result sizes, comma-separated")
	query := flag.String("query", "DeviceEvents | take %d", "the KQL query, %d the row count")
	backend := flag.String("backend", "graph", "graph or xdr")
	bin := flag.String("bin", "", "the gateway binary (default: go build ./cmd/server into a temporary directory)")
	flag.Parse()
	var sizes []int
	for _, s := range strings.Split(*rowsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-rows: %q is not a row count", s)
		}
		sizes = append(sizes, n)
	}
	dir, err := os.MkdirTemp("", "streambench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *bin == "" {
		*bin = filepath.Join(dir, "defender-gateway")
		build := exec.Command("go", "build", "-o", *bin, "./cmd/server")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	emu, err := emulator.Start(emulator.Options{})
	if err != nil {
		return err
	}
	defer emu.Close()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, emu.CACertPEM(), 0o600); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// The emulator generates its large table on first use: not measured.
	if r := runBaseline(self, emu, caFile, *backend, fmt.Sprintf(*query, 1), 1); r.err != "" {
		return fmt.Errorf("warm-up: %s", r.err)
	}
	fmt.Printf("backend %s, query %q\n\n", *backend, *query)
	fmt.Println("| Rows | Method | Time to first row | Total | Peak RSS (MiB) | Note |")
	fmt.Println("| ---: | --- | ---: | ---: | ---: | --- |")
	for _, n := range sizes {
		q := fmt.Sprintf(*query, n)
		for _, m := range []string{"baseline", "RunQuery", "RunQuery, bound lifted", "StreamQuery"} {
			var r result
			if m == "baseline" {
				r = runBaseline(self, emu, caFile, *backend, q, n)
			} else {
				r = runGateway(*bin, emu, caFile, *backend, m, q, n)
			}
			note := r.err
			if note == "" && m == "baseline" {
				note = fmt.Sprintf("%.1f MiB of JSON", float64(r.bodyBytes)/(1<<20))
			}
			fmt.Printf("| %d | %s | %s | %s | %.1f | %s |\n", n, m, ms(r.firstRow), ms(r.total), float64(r.peakRSS)/(1<<20), note)
		}
	}
	return nil
}

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

// peakRSS is the VmHWM of a process, in bytes; the process must not have
// been reaped yet.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// runGateway starts a gateway on emu, warms its token, then measures one
// call of method.
func runGateway(bin string, emu *emulator.Emulator, caFile, backend, method, query string, rows int) result {
	r := result{method: method, rows: rows}
	bound := []string{} // RunQuery's default DEFENDER_HUNTING_MAX_RESULT_BYTES
	if method == "RunQuery, bound lifted" {
		method, bound = "RunQuery", []string{"--hunting-max-result-bytes", strconv.Itoa(1 << 30)}
	}
	grpcAddr, err := freeAddr()
	if err != nil {
		r.err = err.Error()
		return r
	}
	httpAddr, err := freeAddr()
	if err != nil {
		r.err = err.Error()
		return r
	}
	api, scope := emu.GraphURL(), identity.GraphResource+"/.default"
	if backend == "xdr" {
		api, scope = emu.XDRURL(), identity.XDRResource+"/.default"
	}
	cmd := exec.Command(bin, append([]string{"--tenant-id", identity.HomeTenantID, "--client-id", identity.ClientID,
		"--backend", backend, "--authority-host", emu.AuthorityHost(), "--api-url", api, "--scope", scope,
		"--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--log-level", "error"}, bound...)...)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+caFile, "DEFENDER_CLIENT_SECRET="+identity.ClientSecret)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		r.err = err.Error()
		return r
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	if err := waitHealthy("http://" + httpAddr + "/healthz"); err != nil {
		r.err = err.Error()
		return r
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)))
	if err != nil {
		r.err = err.Error()
		return r
	}
	defer conn.Close()
	client := defenderv1.NewHuntingServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tenant := "tenants/default"
	if _, err := client.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: tenant, Query: "AlertInfo | take 1"}); err != nil {
		r.err = "warm-up: " + err.Error()
		return r
	}
	start := time.Now()
	switch method {
	case "RunQuery":
		resp, err := client.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: tenant, Query: query})
		r.total = time.Since(start)
		r.firstRow = r.total
		if err != nil {
			r.err = status.Code(err).String() + " " + reasonOf(err)
		} else if len(resp.GetRows()) != rows {
			r.err = fmt.Sprintf("%d rows", len(resp.GetRows()))
		}
	case "StreamQuery":
		stream, err := client.StreamQuery(ctx, &defenderv1.StreamQueryRequest{Tenant: tenant, Query: query})
		if err != nil {
			r.err = err.Error()
			break
		}
		got := 0
		for {
			m, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.err = err.Error()
				break
			}
			if b := m.GetBatch(); b != nil {
				if got == 0 {
					r.firstRow = time.Since(start)
				}
				got += len(b.GetRows())
			}
		}
		r.total = time.Since(start)
		if r.err == "" && got != rows {
			r.err = fmt.Sprintf("%d rows", got)
		}
	}
	r.peakRSS = peakRSS(cmd.Process.Pid)
	return r
}

// reasonOf is the ErrorInfo reason of a status error.
func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

func waitHealthy(u string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the gateway did not become healthy in 30s")
}

// runBaseline runs this program in baseline mode in a child process.
func runBaseline(self string, emu *emulator.Emulator, caFile, backend, query string, rows int) result {
	r := result{method: "baseline", rows: rows}
	api, scope, path := emu.GraphURL(), identity.GraphResource+"/.default", "/security/runHuntingQuery"
	if backend == "xdr" {
		api, scope, path = emu.XDRURL(), identity.XDRResource+"/.default", "/api/advancedhunting/run"
	}
	out, err := os.CreateTemp("", "baseline")
	if err != nil {
		r.err = err.Error()
		return r
	}
	defer os.Remove(out.Name())
	out.Close()
	cmd := exec.Command(self, "baseline", emu.AuthorityHost()+"/"+identity.HomeTenantID+"/oauth2/v2.0/token", scope, api+path, query,
		strconv.Itoa(rows), out.Name())
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+caFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		r.err = err.Error()
		return r
	}
	// The child reports its own peak RSS before it exits.
	if err := cmd.Wait(); err != nil {
		r.err = err.Error()
		return r
	}
	data, err := os.ReadFile(out.Name())
	if err != nil {
		r.err = err.Error()
		return r
	}
	var total, body, rss int64
	if _, err := fmt.Sscan(string(data), &total, &body, &rss); err != nil {
		r.err = "report: " + err.Error()
		return r
	}
	r.total, r.firstRow, r.bodyBytes, r.peakRSS = time.Duration(total), time.Duration(total), body, rss
	return r
}

// baseline is the child: a token by client credentials, then the query
// with a plain HTTP client, the whole body read and decoded as other
// integrations do. It writes "total-ns body-bytes peak-rss" to its report.
func baseline(args []string) error {
	if len(args) != 6 {
		return errors.New("usage: baseline TOKEN_URL SCOPE QUERY_URL QUERY ROWS REPORT")
	}
	tokenURL, scope, queryURL, query, report := args[0], args[1], args[2], args[3], args[5]
	rows, _ := strconv.Atoi(args[4])
	resp, err := http.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {identity.ClientID},
		"client_secret": {identity.ClientSecret}, "scope": {scope}})
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		return fmt.Errorf("token: %v", err)
	}
	start := time.Now()
	body, _ := json.Marshal(map[string]string{"Query": query})
	req, err := http.NewRequest(http.MethodPost, queryURL, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, data)
	}
	var result map[string]any
	if err := json.Unmarshal(data, &result); err != nil {
		return err
	}
	total := time.Since(start)
	got := 0
	for k, v := range result {
		if strings.EqualFold(k, "results") {
			got = len(v.([]any))
		}
	}
	if got != rows {
		return fmt.Errorf("%d rows, want %d", got, rows)
	}
	return os.WriteFile(report, fmt.Appendf(nil, "%d %d %d", total.Nanoseconds(), len(data), peakRSS(os.Getpid())), 0o600)
}
