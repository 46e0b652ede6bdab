package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator"
)

// emulatorInfo is what the emulator child tells its parent on its first
// line of output.
type emulatorInfo struct {
	AuthorityHost string `json:"authorityHost"`
	GraphURL      string `json:"graphURL"`
	XDRURL        string `json:"xdrURL"`
	CAPEM         string `json:"caPEM"`
}

// apiURL is the base URL of backend's API.
func (e emulatorInfo) apiURL(backend string) string {
	if backend == "xdr" {
		return e.XDRURL
	}
	return e.GraphURL
}

// serveEmulator is the emulator child: it starts an emulator, prints its
// addresses and CA as one JSON line, and serves until its standard input
// closes (the parent ended or closed it).
func serveEmulator() error {
	emu, err := emulator.Start(emulator.Options{})
	if err != nil {
		return err
	}
	defer emu.Close()
	info := emulatorInfo{AuthorityHost: emu.AuthorityHost(), GraphURL: emu.GraphURL(), XDRURL: emu.XDRURL(),
		CAPEM: string(emu.CACertPEM())}
	if err := json.NewEncoder(os.Stdout).Encode(info); err != nil {
		return err
	}
	// The emulator logs every request; empty the log now and then so that a
	// long run does not grow it (nor the emulator's work) without bound.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return nil
			}
			if line == "count" {
				fmt.Println(apiRequests(emu.Stats()))
			}
		case <-tick.C:
			emu.ResetRequests()
		}
	}
}

// apiRequests is how many requests the emulator's Graph and XDR APIs have
// accepted (Entra's token requests are not counted).
func apiRequests(stats []emulator.RouteStats) int {
	n := 0
	for _, s := range stats {
		if s.Route == emulator.RouteWholeAPI {
			n += s.Accepted
		}
	}
	return n
}

// emulatorProcess is a running emulator child.
type emulatorProcess struct {
	info   emulatorInfo
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
}

// startEmulator starts this program in emulator mode and reads its info.
func startEmulator(self string) (*emulatorProcess, error) {
	cmd := exec.Command(self, "emulator")
	cmd.SysProcAttr = childAttr()
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &emulatorProcess{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout)}
	line, err := p.stdout.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &p.info)
	}
	if err == nil && p.info.GraphURL == "" {
		err = errors.New("no Graph URL")
	}
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("emulator child: %w", err)
	}
	return p, nil
}

// apiRequests asks the child how many API requests its emulator has
// accepted so far. It is not safe for concurrent use.
func (p *emulatorProcess) apiRequests() (int, error) {
	if _, err := io.WriteString(p.stdin, "count\n"); err != nil {
		return 0, err
	}
	line, err := p.stdout.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("emulator child: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(line))
}

// stop closes the child's standard input and waits for it to exit.
func (p *emulatorProcess) stop() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}
