package main

import (
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseStatCPU(t *testing.T) {
	// A real line of /proc/PID/stat (52 fields): utime 1234 and stime 56
	// are fields 14 and 15.
	const tail = " S 1 2 3 0 -1 4194560 1000 0 0 0 1234 56 0 0 20 0 8 0 100 1000000 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	tests := []struct {
		name    string
		stat    string
		want    int64
		wantErr bool
	}{
		{name: "plain command", stat: "4242 (defender-gatew)" + tail, want: 1290},
		{name: "command with spaces and parentheses", stat: "4242 (a b) (c) d)" + tail, want: 1290},
		{name: "zero CPU", stat: "1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0", want: 0},
		{name: "no command name", stat: "4242 defender S 1 2 3", wantErr: true},
		{name: "too few fields", stat: "4242 (x) S 1 2 3 0 -1 0 0 0 0 0 12", wantErr: true},
		{name: "utime not a number", stat: "4242 (x) S 1 2 3 0 -1 0 0 0 0 0 u 56 0", wantErr: true},
		{name: "stime not a number", stat: "4242 (x) S 1 2 3 0 -1 0 0 0 0 0 12 s 0", wantErr: true},
		{name: "negative time", stat: "4242 (x) S 1 2 3 0 -1 0 0 0 0 0 -12 5 0", wantErr: true},
		{name: "empty", stat: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU(tc.stat)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseStatCPU() error = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseStatCPU() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	const status = "Name:\tdefender-gatew\nVmPeak:\t 1300000 kB\nVmHWM:\t   48128 kB\nVmRSS:\t   40000 kB\nThreads:\t8\n"
	tests := []struct {
		name    string
		status  string
		key     string
		want    int64
		wantErr bool
	}{
		{name: "VmHWM", status: status, key: "VmHWM", want: 48128 << 10},
		{name: "VmRSS", status: status, key: "VmRSS", want: 40000 << 10},
		{name: "no such line", status: status, key: "VmSwap", wantErr: true},
		{name: "a prefix is not the key", status: "VmHWMx:\t1 kB\n", key: "VmHWM", wantErr: true},
		{name: "not in kB", status: status, key: "Threads", wantErr: true},
		{name: "not a number", status: "VmHWM:\tlots kB\n", key: "VmHWM", wantErr: true},
		{name: "negative", status: "VmHWM:\t-1 kB\n", key: "VmHWM", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatusKB(tc.status, tc.key)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseStatusKB() error = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseStatusKB() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestPerCallAndRatio(t *testing.T) {
	tests := []struct {
		name      string
		cpu       time.Duration
		calls     int
		direct    float64
		wantMs    float64
		wantRatio float64
	}{
		{name: "1 s over 1000 calls", cpu: time.Second, calls: 1000, direct: 0.5, wantMs: 1, wantRatio: 2},
		{name: "no calls", cpu: time.Second, calls: 0, direct: 0.5, wantMs: 0, wantRatio: 0},
		{name: "no direct figure", cpu: 300 * time.Millisecond, calls: 100, direct: 0, wantMs: 3, wantRatio: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := perCall(tc.cpu, tc.calls)
			if ms != tc.wantMs {
				t.Errorf("perCall() = %v, want %v", ms, tc.wantMs)
			}
			if r := ratio(ms, tc.direct); r != tc.wantRatio {
				t.Errorf("ratio() = %v, want %v", r, tc.wantRatio)
			}
		})
	}
}

func TestProcessCPUAndPeakRSSOfThisProcess(t *testing.T) {
	pid := os.Getpid()
	if _, err := processCPU(pid); err != nil {
		t.Fatalf("processCPU(self): %v", err)
	}
	rss, err := peakRSS(pid)
	if err != nil || rss <= 0 {
		t.Fatalf("peakRSS(self) = %d, %v; want a positive size", rss, err)
	}
}
