package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"time"
)

// watchReloadableFiles compares the content of files with what it last saw
// (at first, seen: their fingerprints when they were loaded; nil takes
// them now) every interval and, when any differs, runs reload as SIGHUP does, logged
// the same way with the changed files. It hashes content rather than
// watching inodes or modification times, so it sees Kubernetes' update of a
// mounted ConfigMap or Secret (an atomic swap of the ..data symlink) as
// well as an edit in place. A change is acted on once: a reload that fails
// is retried when the files change again, or on SIGHUP. It stops when ctx
// ends or the returned stop is called.
func watchReloadableFiles(ctx context.Context, files []string, seen map[string]fingerprint, interval time.Duration, reload func() error, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	if seen == nil {
		seen = fingerprints(files)
	}
	logger.Info("watching the reloadable files for changes", "files", files, "interval", interval.String())
	go func() {
		defer close(done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			now := fingerprints(files)
			var changed []string
			for _, f := range files {
				if now[f] != seen[f] {
					changed = append(changed, f)
				}
			}
			if len(changed) == 0 {
				continue
			}
			seen = now
			reloadAndLog(reload, logger, "trigger", "file change", "files", changed)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// fingerprint is a file's SHA-256, or what made it unreadable: a file that
// disappears or comes back is a change too.
type fingerprint struct {
	sum     [sha256.Size]byte
	missing bool
	err     string
}

func fingerprints(files []string) map[string]fingerprint {
	out := make(map[string]fingerprint, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			out[f] = fingerprint{missing: true}
		case err != nil:
			out[f] = fingerprint{err: err.Error()}
		default:
			out[f] = fingerprint{sum: sha256.Sum256(data)}
		}
	}
	return out
}
