package testredis

import (
	"bufio"
	"fmt"
	"net"
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
