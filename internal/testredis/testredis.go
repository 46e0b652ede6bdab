package testredis

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Binary is the redis-server executable looked up on PATH.
const Binary = "redis-server"

// Server is one running redis-server.
type Server struct {
	t    testing.TB
	path string
	port int

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start runs redis-server on a free loopback port and stops it when the
// test ends. Without the binary it skips the test, or fails it when CI is
// set.
func Start(t testing.TB) *Server {
	t.Helper()
	path, err := exec.LookPath(Binary)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("testredis: %s not found on PATH (CI must install it: apt-get install redis-server)", Binary)
		}
		t.Skipf("testredis: %s not found on PATH; install it (apt-get install redis-server) to run this test", Binary)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("testredis: no free port: %v", err)
	}
	s := &Server{t: t, path: path, port: port}
	t.Cleanup(s.Stop)
	s.start()
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Stop kills the server and waits for it; stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart stops the server if it runs and starts an empty one on the same
// port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

func (s *Server) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.path,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--dir", s.t.TempDir(),
		"--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning")
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatalf("testredis: %v", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("testredis: start %s: %v", s.path, err)
	}
	// Drain the output so the server never blocks on a full pipe; the
	// goroutine ends when the process does.
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			ok := ping(c)
			c.Close()
			if ok {
				s.cmd = cmd
				return
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			var last string
			for len(lines) > 0 {
				last += <-lines + "\n"
			}
			s.t.Fatalf("testredis: %s did not answer on %s: %v\n%s", s.path, s.Addr(), err, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ping(c net.Conn) bool {
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := fmt.Fprint(c, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
