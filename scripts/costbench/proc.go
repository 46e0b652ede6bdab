package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK)
// needs cgo to ask).
const clockTicks = 100

// parseStatCPU returns utime+stime, in clock ticks, from the contents of
// /proc/PID/stat. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so the fields are counted from the last
// ')'.
func parseStatCPU(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command name")
	}
	// After ") ": field 3 (state) is index 0, utime (14) index 11, stime (15) index 12.
	fields := strings.Fields(stat[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command name, want at least 13", len(fields))
	}
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("proc stat: utime: %w", err)
	}
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("proc stat: stime: %w", err)
	}
	if utime < 0 || stime < 0 {
		return 0, errors.New("proc stat: negative CPU time")
	}
	return utime + stime, nil
}

// parseStatusKB returns the value of a "Key:   N kB" line of
// /proc/PID/status, in bytes.
func parseStatusKB(status, key string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		num, ok := strings.CutSuffix(strings.TrimSpace(rest), "kB")
		if !ok {
			return 0, fmt.Errorf("proc status: %s: %q is not in kB", key, strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("proc status: %s: %q is not a size", key, strings.TrimSpace(num))
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("proc status: no %s line", key)
}

// processCPU is the CPU time (user and system) a process has used so far.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	ticks, err := parseStatCPU(string(data))
	if err != nil {
		return 0, err
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// peakRSS is a process's VmHWM, in bytes.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(string(data), "VmHWM")
}

// perCall is CPU milliseconds per call.
func perCall(cpu time.Duration, calls int) float64 {
	if calls <= 0 {
		return 0
	}
	return float64(cpu) / float64(time.Millisecond) / float64(calls)
}

// ratio is a/b, or 0 when b is not positive.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}
