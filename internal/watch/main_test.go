package watch

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when one leaves a goroutine behind:
// a poller that outlives its last subscription or its hub.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
