package testredis

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, addr, cmd string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprint(c, cmd+"\r\n")
	return bufio.NewReader(c).ReadString('\n')
}

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if got, err := get(t, s.Addr(), "SET k v"); err != nil || got != "+OK\r\n" {
		t.Fatalf("SET = %q, %v", got, err)
	}
	s.Stop()
	if _, err := get(t, s.Addr(), "PING"); err == nil {
		t.Fatal("server still answers after Stop")
	}
	s.Restart()
	// Same port, empty data (no persistence).
	if got, err := get(t, s.Addr(), "EXISTS k"); err != nil || got != ":0\r\n" {
		t.Fatalf("after Restart EXISTS = %q, %v; want :0", got, err)
	}
	if s.URL() != "redis://"+s.Addr()+"/0" {
		t.Errorf("URL = %q", s.URL())
	}
}

// recordingTB stands for the test Start is given, to see whether it skips
// or fails; both end the goroutine, as the real ones do.
type recordingTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinary(t *testing.T) {
	tests := []struct {
		name               string
		ci                 string
		wantSkip, wantFail bool
	}{
		{"developer machine skips", "", true, false},
		{"CI fails", "true", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			t.Setenv("CI", tt.ci)
			r := &recordingTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Start(r)
			}()
			<-done
			if r.skipped != tt.wantSkip || r.failed != tt.wantFail {
				t.Errorf("skipped %v, failed %v (%q); want skipped %v, failed %v", r.skipped, r.failed, r.msg, tt.wantSkip, tt.wantFail)
			}
			if !strings.Contains(r.msg, "redis-server") || !strings.Contains(r.msg, "apt-get install redis-server") {
				t.Errorf("message %q does not say what to install", r.msg)
			}
		})
	}
}
