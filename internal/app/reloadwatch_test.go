package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWatchReloadableFiles drives the watcher through what a Kubernetes
// volume does to a mounted ConfigMap: the file is a symlink through
// ..data, and an update swaps ..data to a new directory. Each change is one
// reload; no change is none; a removed file is a change; a failed reload is
// logged.
func TestWatchReloadableFiles(t *testing.T) {
	dir := t.TempDir()
	// dir/policy.yaml -> ..data/policy.yaml, ..data -> ..v1
	writeVersion := func(version, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, version), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, version, "policy.yaml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(version, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	writeVersion("..v1", "one")
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.Symlink(filepath.Join("..data", "policy.yaml"), policy); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(other, []byte("keys"), 0o600); err != nil {
		t.Fatal(err)
	}

	var reloads atomic.Int32
	var failNext atomic.Bool
	reload := func() error {
		reloads.Add(1)
		if failNext.Swap(false) {
			return errors.New("policy.yaml: bad operation")
		}
		return nil
	}
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	stop := watchReloadableFiles(context.Background(), []string{policy, other}, nil, 10*time.Millisecond, reload, logger)
	defer stop()

	waitReloads := func(want int32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for reloads.Load() < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		// A few more ticks, to catch a reload too many.
		time.Sleep(50 * time.Millisecond)
		if got := reloads.Load(); got != want {
			t.Fatalf("reloads = %d, want %d; log:\n%s", got, want, logs.String())
		}
	}

	waitReloads(0) // unchanged files: no reload
	writeVersion("..v2", "two")
	waitReloads(1)
	if !strings.Contains(logs.String(), `"msg":"policy, API keys and TLS files reloaded","trigger":"file change","files":["`+policy+`"]`) {
		t.Errorf("the reload is not logged with the changed file:\n%s", logs.String())
	}
	writeVersion("..v3", "two") // same content, new directory: no change
	waitReloads(1)

	failNext.Store(true)
	if err := os.WriteFile(other, []byte("keys 2"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitReloads(2)
	if !strings.Contains(logs.String(), `"msg":"reload failed; the previous version of each failed file stays in force","trigger":"file change","files":["`+other+`"],"error":"policy.yaml: bad operation"`) {
		t.Errorf("the failed reload is not logged:\n%s", logs.String())
	}
	waitReloads(2) // a failed reload is not retried until the next change

	if err := os.Remove(other); err != nil {
		t.Fatal(err)
	}
	waitReloads(3)

	stop()
	writeVersion("..v4", "four")
	time.Sleep(50 * time.Millisecond)
	if got := reloads.Load(); got != 3 {
		t.Errorf("reloads after stop = %d, want 3", got)
	}
}

// TestWatchReloadableFilesSeesAChangeDuringStart: the fingerprints taken
// before the gateway read its files make a change made while it started a
// reload on the first tick.
func TestWatchReloadableFilesSeesAChangeDuringStart(t *testing.T) {
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policy, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded := fingerprints([]string{policy})
	if err := os.WriteFile(policy, []byte("two"), 0o600); err != nil { // while Build ran
		t.Fatal(err)
	}
	reloaded := make(chan struct{}, 10)
	stop := watchReloadableFiles(context.Background(), []string{policy}, loaded, 10*time.Millisecond,
		func() error { reloaded <- struct{}{}; return nil }, slog.New(slog.DiscardHandler))
	defer stop()
	select {
	case <-reloaded:
	case <-time.After(5 * time.Second):
		t.Fatal("the change made during the start was not reloaded")
	}
}
