package credentials

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// sources records what a TokenObserver is told.
type sources struct {
	mu  sync.Mutex
	got []string
}

func (s *sources) TokenAcquired(source string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		source += ":error"
	}
	s.got = append(s.got, source)
}

func (s *sources) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.got, ",")
}

// TestAppObserver: the first token comes from the network, the second
// from MSAL's cache, a refused one is a network error.
func TestAppObserver(t *testing.T) {
	e := startEmulator(t)
	obs := &sources{}
	opts := appOptions(e)
	opts.Observer = obs
	app := newApp(t, opts)
	for range 2 {
		if _, err := app.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := obs.String(); got != "network,cache" {
		t.Errorf("observed %q, want network,cache", got)
	}

	bad := appOptions(e)
	bad.ClientSecret = identity.ClientSecret + "-wrong"
	badObs := &sources{}
	bad.Observer = badObs
	if _, err := newApp(t, bad).Token(context.Background()); err == nil {
		t.Fatal("a wrong secret got a token")
	}
	if got := badObs.String(); got != "network:error" {
		t.Errorf("observed %q, want network:error", got)
	}
}
